//! The auth layer against the real `docker-registry` (distribution 2.8) in
//! token and htpasswd modes, over real sockets on 127.0.0.1.

use std::time::Duration;

use registry_core::auth::DockerAuth;
use registry_core::credentials::{Credential, Static};
use registry_core::{Body, Digest, Error, ErrorKind, HttpClient};
use test_support::{TestRegistry, TokenServer};

fn client_for(host: &str, user: &str, password: &str) -> HttpClient {
    HttpClient::builder()
        .authenticator(DockerAuth::new(
            Static::new(Credential::basic(user, password)).for_host(host),
        ))
        .build()
        .unwrap()
}

/// Monolithic blob upload: POST to open a session, PUT with the digest.
async fn push_blob(client: &HttpClient, base: &str, repo: &str, data: &'static [u8]) -> Digest {
    let digest = Digest::sha256_of(data);
    let resp = client
        .send(
            http::Request::post(format!("{base}/v2/{repo}/blobs/uploads/"))
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), 202, "start upload");
    let location = resp.headers()["location"].to_str().unwrap().to_owned();
    let url = registry_core::redirect::resolve_location(
        &format!("{base}/v2/").parse().unwrap(),
        &location,
    )
    .unwrap();
    let sep = if url.query().is_some() { '&' } else { '?' };
    // A streamed (non-replayable) body: it must go out with a token on the
    // first and only attempt.
    let body = Body::from_stream(futures_util::stream::iter([Ok::<_, std::io::Error>(
        bytes::Bytes::from_static(data),
    )]));
    let resp = client
        .send(
            http::Request::put(format!("{url}{sep}digest={digest}"))
                .header("content-type", "application/octet-stream")
                .header("content-length", data.len())
                .body(body)
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), 201, "complete upload");
    digest
}

async fn get_blob(client: &HttpClient, base: &str, repo: &str, digest: &Digest) -> bytes::Bytes {
    let resp = client
        .send(
            http::Request::get(format!("{base}/v2/{repo}/blobs/{digest}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    resp.into_body().collect_bytes(1 << 20).await.unwrap()
}

#[tokio::test]
async fn token_flow_push_and_pull() {
    let tokens = TokenServer::builder()
        .user("alice", "wonderland")
        .start()
        .await;
    let registry = TestRegistry::token(&tokens).await;
    let client = client_for(&registry.host(), "alice", "wonderland");

    let digest = push_blob(&client, &registry.url(), "team/app", b"layer bytes").await;
    assert_eq!(
        get_blob(&client, &registry.url(), "team/app", &digest).await,
        "layer bytes"
    );

    // Every token request carried Basic credentials and asked for the
    // repository scope it needed.
    let reqs = tokens.requests();
    assert!(!reqs.is_empty());
    assert!(
        reqs.iter().all(|r| r.user.as_deref() == Some("alice")),
        "{reqs:?}"
    );
    assert!(
        reqs.iter().any(|r| r
            .scopes
            .iter()
            .any(|s| s == "repository:team/app:pull,push")),
        "{reqs:?}"
    );
}

#[tokio::test]
async fn concurrent_requests_share_one_token_fetch_and_reuse_it() {
    let tokens = TokenServer::builder()
        .user("alice", "wonderland")
        .start()
        .await;
    let registry = TestRegistry::token(&tokens).await;
    let client = client_for(&registry.host(), "alice", "wonderland");
    let base = registry.url();
    // Seed one blob with a separate client so its token fetches don't count.
    let seed = client_for(&registry.host(), "alice", "wonderland");
    let digest = push_blob(&seed, &base, "shared", b"shared bytes").await;
    tokens.clear_requests();

    let mut tasks = Vec::new();
    for _ in 0..8 {
        let client = client.clone();
        let url = format!("{base}/v2/shared/blobs/{digest}");
        tasks.push(tokio::spawn(async move {
            let resp = client
                .send(http::Request::head(url).body(Body::empty()).unwrap())
                .await
                .unwrap();
            resp.status()
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), 200);
    }
    assert_eq!(tokens.request_count(), 1, "{:?}", tokens.requests());

    // A later request for the same scope is sent with the cached token up
    // front: no new token request.
    assert_eq!(
        get_blob(&client, &base, "shared", &digest).await,
        "shared bytes"
    );
    assert_eq!(tokens.request_count(), 1);
}

#[tokio::test]
async fn expired_token_is_refreshed() {
    let tokens = TokenServer::builder()
        .user("alice", "wonderland")
        .expires_in(Duration::from_secs(2))
        .start()
        .await;
    let registry = TestRegistry::token(&tokens).await;
    let client = client_for(&registry.host(), "alice", "wonderland");
    let digest = push_blob(&client, &registry.url(), "exp", b"x").await;
    assert_eq!(
        get_blob(&client, &registry.url(), "exp", &digest).await,
        "x"
    );
    let before = tokens
        .requests()
        .iter()
        .filter(|r| r.scopes.iter().any(|s| s == "repository:exp:pull"))
        .count();
    assert_eq!(before, 1);
    // Let the 2 s token lapse (the client treats it as expired 0.4 s early).
    tokio::time::sleep(Duration::from_millis(1700)).await;
    assert_eq!(
        get_blob(&client, &registry.url(), "exp", &digest).await,
        "x"
    );
    let after = tokens
        .requests()
        .iter()
        .filter(|r| r.scopes.iter().any(|s| s == "repository:exp:pull"))
        .count();
    assert_eq!(after, 2, "{:?}", tokens.requests());
}

#[tokio::test]
async fn wrong_token_credentials_are_unauthorized() {
    let tokens = TokenServer::builder()
        .user("alice", "wonderland")
        .start()
        .await;
    let registry = TestRegistry::token(&tokens).await;
    let client = client_for(&registry.host(), "alice", "wrong");
    let err = client
        .send(
            http::Request::get(format!("{}/v2/x/tags/list", registry.url()))
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthorized, "{err}");
    assert!(!err.to_string().contains("wrong"), "secret leaked: {err}");
}

#[tokio::test]
async fn htpasswd_right_and_wrong_password() {
    let registry = TestRegistry::htpasswd("bob", "builder").await;
    let good = client_for(&registry.host(), "bob", "builder");
    let digest = push_blob(&good, &registry.url(), "basic/app", b"basic bytes").await;
    assert_eq!(
        get_blob(&good, &registry.url(), "basic/app", &digest).await,
        "basic bytes"
    );

    let bad = client_for(&registry.host(), "bob", "nope");
    let resp = bad
        .send(
            http::Request::get(format!("{}/v2/basic/app/blobs/{digest}", registry.url()))
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let status = resp.status();
    let body = resp.into_body().collect_bytes(1 << 16).await.unwrap();
    let err = Error::from_response(status, &body);
    assert_eq!(err.kind(), ErrorKind::Unauthorized);
    assert_eq!(err.oci_errors()[0].code, "UNAUTHORIZED");

    // Credentials for another host are never sent here.
    let elsewhere = client_for("other.example:5000", "bob", "builder");
    let resp = elsewhere
        .send(
            http::Request::get(format!("{}/v2/", registry.url()))
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
}

#[tokio::test]
async fn identity_token_uses_the_oauth2_refresh_grant() {
    let tokens = TokenServer::builder()
        .user("alice", "wonderland")
        .refresh_token("identity-abc", "alice")
        .start()
        .await;
    let registry = TestRegistry::token(&tokens).await;
    let client = HttpClient::builder()
        .authenticator(DockerAuth::new(
            Static::new(Credential::IdentityToken(registry_core::Secret::new(
                "identity-abc",
            )))
            .for_host(registry.host()),
        ))
        .build()
        .unwrap();
    let digest = push_blob(&client, &registry.url(), "oauth/app", b"oauth bytes").await;
    assert_eq!(
        get_blob(&client, &registry.url(), "oauth/app", &digest).await,
        "oauth bytes"
    );
    let reqs = tokens.requests();
    assert!(!reqs.is_empty());
    for r in &reqs {
        assert_eq!(r.method, http::Method::POST, "{r:?}");
        assert_eq!(r.grant_type.as_deref(), Some("refresh_token"), "{r:?}");
        assert_eq!(r.user.as_deref(), Some("alice"), "{r:?}");
        assert!(!r.basic_auth, "{r:?}");
    }
}

#[tokio::test]
async fn unknown_identity_token_is_unauthorized() {
    let tokens = TokenServer::builder()
        .user("alice", "wonderland")
        .start()
        .await;
    let registry = TestRegistry::token(&tokens).await;
    let client = HttpClient::builder()
        .authenticator(DockerAuth::new(
            Static::new(Credential::IdentityToken(registry_core::Secret::new(
                "revoked",
            )))
            .for_host(registry.host()),
        ))
        .build()
        .unwrap();
    let err = client
        .send(
            http::Request::get(format!("{}/v2/x/tags/list", registry.url()))
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthorized, "{err}");
    assert!(!format!("{err} {err:?}").contains("revoked"));
}
