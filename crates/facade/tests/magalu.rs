//! `facade::Magalu` against the fake Magalu API (`test_support::fake_mgc`)
//! and a real docker-registry with htpasswd auth: the registry login comes
//! from `GET /v0/credentials` and nowhere else.

use bytes::Bytes;
use facade::core::ErrorKind;
use facade::{Magalu, TransportOptions};
use serde_json::json;
use std::time::Duration;

use test_support::fake_mgc::{API_KEY, Auth, MagaluFake, error_response};
use test_support::http::json_response;
use test_support::{Fault, FaultRule, Proxy, TestRegistry};

const USER: &str = "e3d49354-35d7-4565-b634-65d8b86aa594";
const PASSWORD: &str = "62kWa168QL!d4IVwN6wTfTYFv63=Sc1D";

/// Makes the fake's `getCredentials` answer this login.
fn login(fake: &MagaluFake, username: &str, password: &str) {
    let body = json!({"username": username, "password": password, "email": "janedoe@email.com"});
    fake.on("getCredentials", move |_| Some(json_response(200, &body)));
}

fn magalu(fake: &MagaluFake, registry: &TestRegistry) -> Magalu {
    Magalu::builder()
        .api_key(API_KEY)
        .api_url(fake.url())
        .registry_host(registry.host())
        .transport(TransportOptions::new().plain_http(true))
        .build()
        .unwrap()
}

/// Pushes a one-layer image tagged `tag`; returns the layer's digest.
async fn push_image(app: &facade::oci::Client, tag: &str) -> facade::core::Digest {
    let layer = Bytes::from_static(b"a layer pushed with credentials from the Magalu API");
    let config = Bytes::from_static(
        br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#,
    );
    let layer_digest = app.push_blob_bytes(layer.clone()).await.unwrap();
    let config_digest = app.push_blob_bytes(config.clone()).await.unwrap();
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest.to_string(), "size": config.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer_digest.to_string(), "size": layer.len()}]
    });
    app.put_manifest_bytes(
        tag,
        "application/vnd.oci.image.manifest.v1+json",
        serde_json::to_vec(&manifest).unwrap(),
    )
    .await
    .unwrap();
    layer_digest
}

#[tokio::test]
async fn the_registry_login_comes_from_the_api_and_is_fetched_once() {
    let registry = TestRegistry::htpasswd(USER, PASSWORD).await;
    let fake = MagaluFake::start().await;
    login(&fake, USER, PASSWORD);
    let mgc = magalu(&fake, &registry);
    assert_eq!(
        fake.calls("getCredentials"),
        0,
        "nothing is fetched by build()"
    );

    let app = mgc
        .registry("myregistry")
        .await
        .unwrap()
        .with_segment("app");
    assert_eq!(
        app.registry(),
        format!("{}/myregistry/app", registry.host())
    );
    let layer = push_image(&app, "v1").await;

    // A second registry() (and a clone) reuses the login.
    let again = mgc.clone().registry("myregistry").await.unwrap();
    let app2 = again.with_segment("app");
    assert!(app2.blob_exists(&layer).await.unwrap());
    assert_eq!(app2.list_tags().await.unwrap(), ["v1"]);
    let other = mgc.registry("otherregistry").await.unwrap();
    assert_eq!(other.scope(), "otherregistry");

    assert_eq!(fake.calls("getCredentials"), 1);
    let creds: Vec<_> = fake
        .requests()
        .into_iter()
        .filter(|r| r.path() == "/v0/credentials")
        .collect();
    assert_eq!(creds.len(), 1);
    assert_eq!(creds[0].method, "GET");
    assert_eq!(creds[0].header("x-api-key"), Some(API_KEY));
    // The API only ever saw the credentials call.
    assert_eq!(fake.request_count(), 1);
    fake.assert_clean();
}

#[tokio::test]
async fn the_registry_refuses_a_wrong_login_from_the_api() {
    let registry = TestRegistry::htpasswd(USER, PASSWORD).await;
    let fake = MagaluFake::start().await;
    login(&fake, USER, "not-the-password");
    let mgc = magalu(&fake, &registry);
    let app = mgc
        .registry("myregistry")
        .await
        .unwrap()
        .with_segment("app");
    let err = app
        .push_blob_bytes(Bytes::from_static(b"x"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthorized, "{err}");
    assert!(!err.to_string().contains("not-the-password"), "{err}");
}

#[tokio::test]
async fn concurrent_first_calls_share_one_fetch() {
    let registry = TestRegistry::htpasswd(USER, PASSWORD).await;
    let fake = MagaluFake::start().await;
    login(&fake, USER, PASSWORD);
    let mgc = magalu(&fake, &registry);
    let copy = mgc.clone();
    let (a, b, c) = tokio::join!(
        mgc.registry("one"),
        mgc.registry("two"),
        copy.registry("three")
    );
    let scopes = [a.unwrap(), b.unwrap(), c.unwrap()].map(|c| c.scope().to_owned());
    assert_eq!(scopes, ["one", "two", "three"]);
    assert_eq!(fake.calls("getCredentials"), 1);
}

#[tokio::test]
async fn a_cancelled_fetch_lets_the_next_caller_fetch() {
    let registry = TestRegistry::htpasswd(USER, PASSWORD).await;
    let fake = MagaluFake::start().await;
    login(&fake, USER, PASSWORD);
    // The first credentials call never gets an answer.
    let stall = FaultRule::new("GET", "/v0/credentials", Fault::StallBeforeHeaders).times(1);
    let proxy = Proxy::builder(fake.url()).fault(stall).start().await;
    let mgc = Magalu::builder()
        .api_key(API_KEY)
        .api_url(proxy.url())
        .registry_host(registry.host())
        .transport(TransportOptions::new().plain_http(true))
        .build()
        .unwrap();

    // The first caller fetches; its request reaches the API and stalls.
    let mut first = Box::pin(mgc.registry("one"));
    let reached_api = async {
        while fake.calls("getCredentials") == 0 {
            tokio::task::yield_now().await;
        }
    };
    tokio::select! {
        answer = &mut first => panic!("the stalled fetch answered: {answer:?}"),
        () = reached_api => {}
    }
    // The second waits for it; giving up on the first lets the second fetch
    // the login.
    let (second, ()) = tokio::time::timeout(Duration::from_secs(30), async {
        tokio::join!(biased; mgc.registry("two"), async move { drop(first) })
    })
    .await
    .expect("the second caller was left waiting");
    assert_eq!(second.unwrap().scope(), "two");
    assert_eq!(proxy.faults_applied(), 1);
    assert_eq!(fake.calls("getCredentials"), 2);
    mgc.registry("three").await.unwrap();
    assert_eq!(fake.calls("getCredentials"), 2);
}

#[tokio::test]
async fn a_failed_fetch_is_reported_and_retried_next_time() {
    let registry = TestRegistry::htpasswd(USER, PASSWORD).await;
    let fake = MagaluFake::start().await;
    // The first call is refused; later ones answer the login.
    fake.on("getCredentials", |ctx| {
        (ctx.call == 1).then(|| error_response(403))
    });
    login(&fake, USER, PASSWORD);
    let mgc = magalu(&fake, &registry);

    let err = mgc.registry("myregistry").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Denied, "{err}");
    let msg = err.to_string();
    assert!(msg.contains("fetching the login"), "{msg}");
    assert!(msg.contains("getCredentials"), "{msg}");
    assert!(msg.contains("user not allowed"), "{msg}");
    assert!(!msg.contains(API_KEY), "{msg}");

    let app = mgc
        .registry("myregistry")
        .await
        .unwrap()
        .with_segment("app");
    push_image(&app, "v2").await;
    assert_eq!(fake.calls("getCredentials"), 2);

    // forget_login (after a password reset, say) fetches it again.
    mgc.forget_login();
    mgc.registry("myregistry").await.unwrap();
    mgc.registry("myregistry").await.unwrap();
    assert_eq!(fake.calls("getCredentials"), 3);
}

#[tokio::test]
async fn bad_names_fail_before_any_request() {
    let registry = TestRegistry::htpasswd(USER, PASSWORD).await;
    let fake = MagaluFake::start().await;
    let mgc = magalu(&fake, &registry);
    for bad in ["", "MyRegistry", "a/b", "../etc"] {
        let err = mgc.registry(bad).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{bad}: {err}");
    }
    assert_eq!(fake.request_count(), 0);
}

#[tokio::test]
async fn a_token_authenticates_the_api_and_the_management_calls_work() {
    let fake = MagaluFake::start_with(Auth::Bearer("jwt-abc".into())).await;
    let mgc = Magalu::builder()
        .token("Bearer jwt-abc")
        .api_url(fake.url())
        .user_agent("facade-test/1")
        .build()
        .unwrap();
    assert_eq!(
        mgc.registry_host(),
        "container-registry.br-se1.magalu.cloud"
    );
    let page = mgc
        .api()
        .registries()
        .list(Default::default())
        .await
        .unwrap();
    assert_eq!(page.results[0].name, "cool_registry");
    let req = &fake.requests()[0];
    assert_eq!(req.header("authorization"), Some("Bearer jwt-abc"));
    assert_eq!(req.header("x-api-key"), None);
    assert_eq!(req.header("user-agent"), Some("facade-test/1"));
    fake.assert_clean();
}

#[tokio::test]
async fn api_errors_are_the_facade_error_with_their_request_id() {
    use facade::ApiErrorExt;
    use test_support::fake_mgc::spec::REGISTRY_ID;
    let fake = MagaluFake::start().await;
    fake.on("getRegistry", |_| Some(error_response(404)));
    // One transport for the API too: its User-Agent reaches the API.
    let mgc = Magalu::builder()
        .api_key(API_KEY)
        .api_url(fake.url())
        .transport(TransportOptions::new().user_agent("one-transport/1"))
        .build()
        .unwrap();
    async fn get(mgc: &Magalu) -> Result<String, facade::Error> {
        Ok(mgc
            .api()
            .registries()
            .get(&REGISTRY_ID.parse()?)
            .await?
            .name)
    }
    let err = get(&mgc).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    let sent = fake.requests()[0]
        .header("x-request-id")
        .unwrap()
        .to_owned();
    assert_eq!(err.request_id(), Some(sent.as_str()));
    assert_eq!(err.api_details().unwrap().slug(), Some("not_found"));
    assert!(
        err.to_string().starts_with("getRegistry: HTTP 404"),
        "{err}"
    );
    assert!(err.to_string().contains(&sent), "{err}");
    assert_eq!(
        fake.requests()[0].header("user-agent"),
        Some("one-transport/1")
    );
}

#[tokio::test]
async fn the_api_takes_the_transports_tls_settings() {
    // An HTTPS server with a self-signed certificate stands in for the API
    // (it answers 404 to the API's paths): refused without the CA, reached
    // with the transport's extra root or with `insecure`.
    let tls = TestRegistry::builder().tls().start().await;
    let api = |transport: TransportOptions| {
        Magalu::builder()
            .api_key(API_KEY)
            .api_url(tls.url())
            .transport(transport)
            .build()
            .unwrap()
    };
    let err = facade::Error::from(
        api(TransportOptions::new())
            .api()
            .users()
            .get()
            .await
            .unwrap_err(),
    );
    assert_eq!(err.kind(), ErrorKind::Tls, "{err}");
    for transport in [
        TransportOptions::new().ca_pem(test_support::registry::TLS_CERT_PEM),
        TransportOptions::new().insecure(true),
    ] {
        let err = facade::Error::from(api(transport).api().users().get().await.unwrap_err());
        assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
        assert!(!err.to_string().contains(API_KEY), "{err}");
    }
}
