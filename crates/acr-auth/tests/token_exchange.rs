//! `AcrAuthenticator` end to end: the real `docker-registry` in token-auth
//! mode, its realm a fake ACR token service (`/oauth2/exchange`,
//! `/oauth2/token`) signing tokens the registry accepts, all over real
//! sockets on 127.0.0.1.

mod common;

use std::time::Duration;

use acr_auth::{AcrAuthenticator, StaticTokenCredential};
use registry_core::{ErrorKind, HttpClient};
use test_support::TokenServer;
use test_support::fake_acr::{AcrTokenService, TOKEN_SERVICE, aad_token, form};

fn client(auth: AcrAuthenticator) -> HttpClient {
    HttpClient::builder().authenticator(auth).build().unwrap()
}

fn aad() -> AcrAuthenticator {
    AcrAuthenticator::aad(StaticTokenCredential::new(aad_token()))
}

#[tokio::test]
async fn push_and_pull_with_an_aad_token_and_one_exchange() {
    test_support::init_tracing();
    let acr = AcrTokenService::start(false).await;
    let registry = acr.registry().await;
    let proxy = registry.start_proxy().await;
    let base = proxy.url();
    let c = client(aad().tenant("tenant-1").for_host(proxy.host()));

    let digest = common::push_image(&c, &base, "team/app", "v1").await;
    let (status, body) = common::get_manifest(&c, &base, "team/app", "v1").await;
    assert_eq!(status, 200);
    assert_eq!(body, common::manifest());
    let (status, body) = common::get_manifest(&c, &base, "team/app", &digest.to_string()).await;
    assert_eq!(
        (status, body.as_ref()),
        (200, common::manifest().as_slice())
    );
    for (blob, data) in [
        (common::CONFIG, common::CONFIG),
        (common::LAYER, common::LAYER),
    ] {
        let d = registry_core::Digest::sha256_of(blob);
        let (status, body) = common::get_blob(&c, &base, "team/app", &d).await;
        assert_eq!((status, body.as_ref()), (200, data));
    }

    // One AAD exchange for everything, with the documented form.
    let exchanges = acr.exchanges();
    assert_eq!(exchanges.len(), 1);
    let f = form(&exchanges[0]);
    assert_eq!(f["grant_type"], "access_token");
    assert_eq!(f["service"], TOKEN_SERVICE);
    assert_eq!(f["access_token"], aad_token());
    assert_eq!(f["tenant"], "tenant-1");
    // One access token per scope set: push (pull,push) and pull.
    let tokens = acr.token_requests();
    let scopes: Vec<String> = tokens.iter().map(|r| form(r)["scope"].clone()).collect();
    assert_eq!(
        scopes,
        ["repository:team/app:pull,push", "repository:team/app:pull"]
    );
    for r in &tokens {
        let f = form(r);
        assert_eq!(f["grant_type"], "refresh_token");
        assert_eq!(f["service"], TOKEN_SERVICE);
        assert_eq!(
            f["refresh_token"].split('.').count(),
            3,
            "a JWT refresh token"
        );
    }
    // Only the very first request met a 401: tokens are sent up front after.
    let unauthorized: Vec<_> = proxy
        .requests()
        .into_iter()
        .filter(|r| r.status == 401)
        .map(|r| format!("{} {}", r.method, r.path()))
        .collect();
    assert_eq!(unauthorized, ["POST /v2/team/app/blobs/uploads/"]);
}

#[tokio::test]
async fn a_streamed_upload_is_sent_once_with_a_token() {
    let acr = AcrTokenService::start(false).await;
    let registry = acr.registry().await;
    let proxy = registry.start_proxy().await;
    let base = proxy.url();
    // Open the upload session with one client...
    let opener = client(aad());
    let resp = opener
        .send(
            http::Request::post(format!("{base}/v2/big/blobs/uploads/"))
                .body(registry_core::Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), 202);
    let location = resp.headers()["location"].to_str().unwrap().to_owned();
    proxy.clear_requests();

    // ...and stream the body with a fresh one that knows nothing yet: it
    // learns the challenge from GET /v2/ and never sends the body to a 401.
    let fresh = client(aad());
    common::put_blob(&fresh, &base, &location, common::LAYER, true).await;
    let seen: Vec<_> = proxy
        .requests()
        .into_iter()
        .map(|r| (r.method.to_string(), r.path().to_owned(), r.status))
        .collect();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!(seen[0], ("GET".into(), "/v2/".into(), 401));
    assert_eq!(seen[1].0, "PUT");
    assert_eq!(seen[1].2, 201);
    let d = registry_core::Digest::sha256_of(common::LAYER);
    let (status, body) = common::get_blob(&fresh, &base, "big", &d).await;
    assert_eq!((status, body.as_ref()), (200, common::LAYER));
}

#[tokio::test]
async fn concurrent_requests_share_one_exchange() {
    let acr = AcrTokenService::start(false).await;
    let registry = acr.registry().await;
    let base = registry.url();
    common::push_image(&client(aad()), &base, "shared", "v1").await;
    let before = (acr.exchanges().len(), acr.token_requests().len());

    let c = client(aad());
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let c = c.clone();
        let base = base.clone();
        tasks.push(tokio::spawn(async move {
            common::get_manifest(&c, &base, "shared", "v1").await
        }));
    }
    for t in tasks {
        let (status, body) = t.await.unwrap();
        assert_eq!(
            (status, body.as_ref()),
            (200, common::manifest().as_slice())
        );
    }
    assert_eq!(acr.exchanges().len() - before.0, 1);
    assert_eq!(acr.token_requests().len() - before.1, 1);
}

#[tokio::test]
async fn a_refresh_token_near_its_expiry_is_exchanged_again() {
    let acr = AcrTokenService::start(false).await;
    let registry = acr.registry().await;
    let base = registry.url();
    let pusher = client(aad());
    common::push_image(&pusher, &base, "a", "v1").await;
    common::push_image(&pusher, &base, "b", "v1").await;

    // Control: a refresh token valid for hours serves both repositories.
    let start = acr.exchanges().len();
    let c = client(aad());
    assert_eq!(common::get_manifest(&c, &base, "a", "v1").await.0, 200);
    assert_eq!(common::get_manifest(&c, &base, "b", "v1").await.0, 200);
    assert_eq!(acr.exchanges().len() - start, 1);

    // A refresh token expiring within the 5-minute margin is replaced when
    // the next access token is needed.
    acr.set_refresh_lifetime(Duration::from_secs(240));
    let start = acr.exchanges().len();
    let c = client(aad());
    assert_eq!(common::get_manifest(&c, &base, "a", "v1").await.0, 200);
    assert_eq!(acr.exchanges().len() - start, 1);
    assert_eq!(common::get_manifest(&c, &base, "b", "v1").await.0, 200);
    assert_eq!(acr.exchanges().len() - start, 2);
    // Cached access tokens need no refresh token at all.
    assert_eq!(common::get_manifest(&c, &base, "a", "v1").await.0, 200);
    assert_eq!(acr.exchanges().len() - start, 2);
}

#[tokio::test]
async fn a_revoked_refresh_token_is_replaced_once() {
    let acr = AcrTokenService::start(false).await;
    let registry = acr.registry().await;
    let base = registry.url();
    let c = client(aad());
    common::push_image(&c, &base, "a", "v1").await;
    assert_eq!(acr.exchanges().len(), 1);
    acr.revoke_refresh_tokens();
    // A new scope needs a new access token; the refresh token is refused,
    // so the authenticator exchanges the AAD token again.
    assert_eq!(common::get_manifest(&c, &base, "a", "v1").await.0, 200);
    assert_eq!(acr.exchanges().len(), 2);
    // Token requests: push scope, pull scope refused, pull scope again.
    let tokens: Vec<_> = acr.token_requests().iter().map(form).collect();
    assert_eq!(tokens.len(), 3);
    assert_eq!(tokens[1]["refresh_token"], tokens[0]["refresh_token"]);
    assert_ne!(tokens[2]["refresh_token"], tokens[1]["refresh_token"]);
    assert_eq!(tokens[2]["scope"], "repository:a:pull");
}

#[tokio::test]
async fn a_wrong_aad_token_is_a_clear_unauthorized_error() {
    let acr = AcrTokenService::start(false).await;
    let registry = acr.registry().await;
    let c = client(AcrAuthenticator::aad(StaticTokenCredential::new(
        "not-the-right-aad-token",
    )));
    let err = c
        .send(
            http::Request::get(format!("{}/v2/a/manifests/v1", registry.url()))
                .body(registry_core::Body::empty())
                .unwrap(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthorized);
    let msg = err.to_string();
    assert!(msg.contains("exchanging the AAD token"), "{msg}");
    assert!(msg.contains("UNAUTHORIZED"), "{msg}");
    assert!(!msg.contains("not-the-right"), "the token leaked: {msg}");
    assert!(!format!("{err:?}").contains("not-the-right"));
    assert_eq!(acr.token_requests().len(), 0);
}

#[tokio::test]
async fn anonymous_pull_where_allowed() {
    let acr = AcrTokenService::start(true).await;
    let registry = acr.registry().await;
    let base = registry.url();
    common::push_image(&client(aad()), &base, "public/app", "v1").await;
    let exchanges = acr.exchanges().len();

    let anon = client(AcrAuthenticator::anonymous());
    let (status, body) = common::get_manifest(&anon, &base, "public/app", "v1").await;
    assert_eq!(
        (status, body.as_ref()),
        (200, common::manifest().as_slice())
    );
    assert_eq!(
        acr.exchanges().len(),
        exchanges,
        "no exchange when anonymous"
    );
    let last = acr.token_requests().pop().unwrap();
    let f = form(&last);
    assert_eq!(f["grant_type"], "password");
    assert_eq!(f["refresh_token"], "");
    assert_eq!(f["service"], TOKEN_SERVICE);
    assert_eq!(f["scope"], "repository:public/app:pull");

    // Pushing anonymously gets a token without push: the registry's 401 is
    // handed back.
    let resp = anon
        .send(
            http::Request::post(format!("{base}/v2/public/app/blobs/uploads/"))
                .body(registry_core::Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
}

#[tokio::test]
async fn anonymous_where_not_allowed_is_a_clear_unauthorized_error() {
    let acr = AcrTokenService::start(false).await;
    let registry = acr.registry().await;
    let anon = client(AcrAuthenticator::anonymous());
    let err = anon
        .send(
            http::Request::get(format!("{}/v2/private/manifests/v1", registry.url()))
                .body(registry_core::Body::empty())
                .unwrap(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthorized);
    assert_eq!(err.status(), Some(http::StatusCode::UNAUTHORIZED));
    assert!(
        err.to_string().contains("anonymous access is not allowed"),
        "{err}"
    );
}

#[tokio::test]
async fn admin_user_basic_credentials_use_the_normal_flow() {
    let tokens = TokenServer::builder()
        .user("myacr", "admin-pw")
        .start()
        .await;
    let registry = test_support::TestRegistry::token(&tokens).await;
    let base = registry.url();
    let c = client(AcrAuthenticator::basic("myacr", "admin-pw"));
    common::push_image(&c, &base, "admin/app", "v1").await;
    let (status, body) = common::get_manifest(&c, &base, "admin/app", "v1").await;
    assert_eq!(
        (status, body.as_ref()),
        (200, common::manifest().as_slice())
    );
    let reqs = tokens.requests();
    assert!(!reqs.is_empty());
    assert!(
        reqs.iter()
            .all(|r| r.basic_auth && r.user.as_deref() == Some("myacr"))
    );

    // Restricted to another host, the admin password goes nowhere.
    tokens.clear_requests();
    let elsewhere =
        client(AcrAuthenticator::basic("myacr", "admin-pw").for_host("other.azurecr.io"));
    let (status, _) = common::get_manifest(&elsewhere, &base, "admin/app", "v1").await;
    assert_eq!(status, 401);
    assert!(tokens.requests().is_empty());
}

#[tokio::test]
async fn credentials_stay_with_their_host() {
    let acr = AcrTokenService::start(false).await;
    let registry = acr.registry().await;
    let c = client(aad().for_host("myregistry.azurecr.io"));
    let (status, _) = common::get_manifest(&c, &registry.url(), "a", "v1").await;
    assert_eq!(status, 401);
    assert_eq!(
        acr.server.request_count(),
        0,
        "nothing was sent to the token service"
    );
}
