//! Real docker-registry in its three auth modes, driven with a plain HTTP client.

mod common;

use std::time::Duration;

use common::{header, json, request};
use test_support::client::{basic_auth, get};
use test_support::token::decode_jwt_claims;
use test_support::{TestRegistry, TokenPolicy, TokenServer};

async fn fetch_token(tokens: &TokenServer, scope: &str, auth: Option<&str>) -> String {
    let url = format!(
        "{}?service={}&scope={scope}",
        tokens.realm(),
        tokens.service()
    );
    let resp = get(&url, auth).await;
    assert_eq!(resp.status(), 200, "token: {:?}", resp.body());
    let body = json(&resp);
    assert_eq!(body["token"], body["access_token"]);
    body["token"]
        .as_str()
        .expect("token is a string")
        .to_owned()
}

#[tokio::test]
async fn anonymous_registry_accepts_everything() {
    let registry = TestRegistry::anonymous().await;
    assert!(registry.url().starts_with("http://127.0.0.1:"));
    assert_eq!(registry.url(), format!("http://{}", registry.host()));

    let resp = get(&format!("{}/v2/", registry.url()), None).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(
        header(&resp, "docker-distribution-api-version"),
        Some("registry/2.0")
    );

    let digest = common::push_blob(&registry.url(), "foo/bar", &b"hello blob"[..], None).await;
    let resp = get(
        &format!("{}/v2/foo/bar/blobs/{digest}", registry.url()),
        None,
    )
    .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(&resp.body()[..], b"hello blob");
    // The blob landed in this registry's own storage directory.
    assert!(
        registry
            .storage_dir()
            .join("docker/registry/v2/blobs/sha256")
            .is_dir()
    );
    // log level info records requests.
    assert!(
        registry.log_contents().contains("/v2/foo/bar/blobs/"),
        "{}",
        registry.log_contents()
    );
}

#[tokio::test]
async fn htpasswd_registry_checks_the_password() {
    let registry = TestRegistry::htpasswd("alice", "s3cret").await;
    assert_eq!(registry.credentials(), Some(("alice", "s3cret")));
    let v2 = format!("{}/v2/", registry.url());

    let resp = get(&v2, Some(&basic_auth("alice", "s3cret"))).await;
    assert_eq!(resp.status(), 200);

    let resp = get(&v2, Some(&basic_auth("alice", "wrong"))).await;
    assert_eq!(resp.status(), 401);

    let resp = get(&v2, None).await;
    assert_eq!(resp.status(), 401);
    let challenge = header(&resp, "www-authenticate").expect("challenge");
    assert!(challenge.starts_with("Basic realm="), "{challenge}");
}

#[tokio::test]
async fn token_registry_accepts_our_tokens() {
    let tokens = TokenServer::start().await;
    let registry = TestRegistry::token(&tokens).await;
    let v2 = format!("{}/v2/", registry.url());

    // Without a token: 401 with a Bearer challenge naming our realm and service.
    let resp = get(&v2, None).await;
    assert_eq!(resp.status(), 401);
    let challenge = header(&resp, "www-authenticate").expect("challenge");
    assert!(
        challenge.starts_with(&format!("Bearer realm=\"{}\"", tokens.realm())),
        "{challenge}"
    );
    assert!(
        challenge.contains(&format!("service=\"{}\"", tokens.service())),
        "{challenge}"
    );

    // The upload endpoint names the scope it needs. distribution builds the
    // action list from a Go map, so the order of `pull` and `push` varies
    // from run to run.
    let uploads = format!("{}/v2/foo/blobs/uploads/", registry.url());
    let resp = request("POST", &uploads, None, "").await;
    assert_eq!(resp.status(), 401);
    let challenge = header(&resp, "www-authenticate").unwrap();
    assert!(
        challenge.contains("scope=\"repository:foo:pull,push\"")
            || challenge.contains("scope=\"repository:foo:push,pull\""),
        "{challenge}"
    );

    let token = fetch_token(&tokens, "repository:foo:pull,push", None).await;
    let claims = decode_jwt_claims(&token).unwrap();
    assert_eq!(claims["aud"], tokens.service());
    assert_eq!(claims["iss"], tokens.issuer());
    assert_eq!(claims["sub"], "");
    assert_eq!(claims["access"][0]["name"], "foo");
    assert_eq!(
        claims["access"][0]["actions"],
        serde_json::json!(["pull", "push"])
    );

    let bearer = format!("Bearer {token}");
    let resp = get(&v2, Some(&bearer)).await;
    assert_eq!(resp.status(), 200, "{}", registry.log_contents());
    let resp = request("POST", &uploads, Some(&bearer), "").await;
    assert_eq!(resp.status(), 202, "{}", registry.log_contents());
    assert!(header(&resp, "location").is_some());

    // The token is for foo only.
    let resp = request(
        "POST",
        &format!("{}/v2/other/blobs/uploads/", registry.url()),
        Some(&bearer),
        "",
    )
    .await;
    assert_eq!(resp.status(), 401);

    // A garbage token is refused.
    let resp = get(&v2, Some("Bearer not.a.jwt")).await;
    assert_eq!(resp.status(), 401);

    let log = tokens.requests();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].scopes, ["repository:foo:pull,push"]);
    assert_eq!(log[0].service.as_deref(), Some(tokens.service()));
    assert!(!log[0].basic_auth);
    assert_eq!(log[0].user, None);
    assert_eq!(log[0].status, 200);
}

#[tokio::test]
async fn token_policy_limits_anonymous_pushes() {
    let tokens = TokenServer::builder()
        .user("alice", "pw")
        .policy(TokenPolicy::AnonymousPullOnly)
        .start()
        .await;
    let registry = TestRegistry::token(&tokens).await;
    let uploads = format!("{}/v2/foo/blobs/uploads/", registry.url());

    let anon = fetch_token(&tokens, "repository:foo:pull,push", None).await;
    assert_eq!(
        decode_jwt_claims(&anon).unwrap()["access"][0]["actions"],
        serde_json::json!(["pull"])
    );
    let resp = request("POST", &uploads, Some(&format!("Bearer {anon}")), "").await;
    assert_eq!(resp.status(), 401);
    assert!(
        header(&resp, "www-authenticate")
            .unwrap()
            .contains("error=\"insufficient_scope\"")
    );

    let alice = fetch_token(
        &tokens,
        "repository:foo:pull,push",
        Some(&basic_auth("alice", "pw")),
    )
    .await;
    assert_eq!(decode_jwt_claims(&alice).unwrap()["sub"], "alice");
    let resp = request("POST", &uploads, Some(&format!("Bearer {alice}")), "").await;
    assert_eq!(resp.status(), 202);

    // Wrong password: the token server refuses.
    let url = format!(
        "{}?service={}&scope=repository:foo:pull",
        tokens.realm(),
        tokens.service()
    );
    let resp = get(&url, Some(&basic_auth("alice", "nope"))).await;
    assert_eq!(resp.status(), 401);

    let log = tokens.requests();
    assert_eq!(log.len(), 3);
    assert_eq!(log[1].user.as_deref(), Some("alice"));
    assert!(log[1].basic_auth);
    assert_eq!(log[2].status, 401);
}

#[tokio::test]
async fn oauth2_post_password_and_refresh_grants() {
    let tokens = TokenServer::builder()
        .user("bob", "pw")
        .refresh_token("identity-token", "bob")
        .expires_in(Duration::from_secs(7))
        .start()
        .await;
    let registry = TestRegistry::token(&tokens).await;
    let realm = tokens.realm().to_owned();
    let form = |body: String| {
        let req = http::Request::post(realm.clone())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(http_body_util::Full::new(bytes::Bytes::from(body)))
            .unwrap();
        test_support::client::send(req)
    };

    let resp = form(format!(
        "grant_type=password&username=bob&password=pw&service={}&scope=repository%3Afoo%3Apull&client_id=test",
        tokens.service()
    ))
    .await;
    assert_eq!(resp.status(), 200, "{:?}", resp.body());
    let body = json(&resp);
    assert_eq!(body["expires_in"], 7);
    let refresh = body["refresh_token"].as_str().unwrap().to_owned();

    for refresh in [refresh.as_str(), "identity-token"] {
        let resp = form(format!(
            "grant_type=refresh_token&refresh_token={refresh}&service={}&scope=repository%3Afoo%3Apull%2Cpush",
            tokens.service()
        ))
        .await;
        assert_eq!(resp.status(), 200, "{:?}", resp.body());
        let body = json(&resp);
        let access = body["access_token"].as_str().unwrap();
        let claims = decode_jwt_claims(access).unwrap();
        assert_eq!(claims["sub"], "bob");
        assert_eq!(
            claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(),
            7
        );
        let resp = request(
            "POST",
            &format!("{}/v2/foo/blobs/uploads/", registry.url()),
            Some(&format!("Bearer {access}")),
            "",
        )
        .await;
        assert_eq!(resp.status(), 202);
    }

    let resp = form(format!(
        "grant_type=refresh_token&refresh_token=bogus&service={}",
        tokens.service()
    ))
    .await;
    assert_eq!(resp.status(), 401);
    let resp = form("grant_type=password&username=bob&password=bad".to_owned()).await;
    assert_eq!(resp.status(), 401);
    let resp =
        form("grant_type=refresh_token&refresh_token=identity-token&service=elsewhere".to_owned())
            .await;
    assert_eq!(resp.status(), 400);

    let log = tokens.requests();
    assert_eq!(log.len(), 6);
    assert_eq!(log[0].grant_type.as_deref(), Some("password"));
    assert_eq!(log[0].param("client_id"), Some("test"));
    assert_eq!(log[1].scopes, ["repository:foo:pull,push"]);
    assert_eq!(log.iter().filter(|r| r.status == 200).count(), 3);
}

#[tokio::test]
async fn token_server_can_require_credentials() {
    let tokens = TokenServer::builder()
        .anonymous(false)
        .user("u", "p")
        .start()
        .await;
    let url = format!(
        "{}?service={}&scope=repository:x:pull",
        tokens.realm(),
        tokens.service()
    );
    assert_eq!(get(&url, None).await.status(), 401);
    let resp = get(
        &format!("{url}&offline_token=true"),
        Some(&basic_auth("u", "p")),
    )
    .await;
    assert_eq!(resp.status(), 200);
    assert!(json(&resp)["refresh_token"].is_string());
    assert_eq!(tokens.request_count(), 2);
}

#[tokio::test]
async fn registry_is_killed_on_drop_and_keeps_a_log() {
    let registry = TestRegistry::builder().log_level("debug").start().await;
    let addr = registry.addr();
    assert_eq!(test_support::registry::probe(addr).await, Some(200));
    let config = std::fs::read_to_string(registry.config_path()).unwrap();
    assert!(config.contains("level: \"debug\""), "{config}");
    assert!(
        registry.log_contents().contains("listening on"),
        "{}",
        registry.log_contents()
    );
    let dir = registry.storage_dir().to_owned();
    drop(registry);
    assert_eq!(test_support::registry::probe(addr).await, None);
    assert!(!dir.exists(), "temp storage removed");
}

#[tokio::test]
async fn issued_tokens_grant_exactly_their_scopes() {
    let tokens = TokenServer::start().await;
    let registry = TestRegistry::token(&tokens).await;
    let pull = test_support::Scope::parse("repository:foo:pull").unwrap();
    let token = tokens.issue_token(Some("carol"), &[pull], Duration::from_secs(60));
    let bearer = format!("Bearer {token}");
    // Pull scope: the (empty) repository answers 404 NAME_UNKNOWN rather than 401.
    let resp = get(
        &format!("{}/v2/foo/tags/list", registry.url()),
        Some(&bearer),
    )
    .await;
    assert_eq!(resp.status(), 404, "{:?}", resp.body());
    // No push scope.
    let resp = request(
        "POST",
        &format!("{}/v2/foo/blobs/uploads/", registry.url()),
        Some(&bearer),
        "",
    )
    .await;
    assert_eq!(resp.status(), 401);
    // No catalog scope.
    let resp = get(&format!("{}/v2/_catalog", registry.url()), Some(&bearer)).await;
    assert_eq!(resp.status(), 401);
    assert!(
        header(&resp, "www-authenticate")
            .unwrap()
            .contains("scope=\"registry:catalog:*\"")
    );
    assert_eq!(
        tokens.request_count(),
        0,
        "issue_token does not go through HTTP"
    );
}
