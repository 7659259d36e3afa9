//! Azure Container Registry through the facade only: a real
//! `docker-registry` in token-auth mode whose realm is a fake ACR token
//! service (`/oauth2/exchange`, `/oauth2/token`), all on 127.0.0.1.

use facade::Azure;
use facade::acr::StaticTokenCredential;
use facade::core::ErrorKind;
use facade::oci::image::{ImageBuilder, ImageLayer, NewImage};
use facade::oci::media_type::{OCI_CONFIG, OCI_LAYER_GZIP};
use test_support::fake_acr::{AcrTokenService, TOKEN_SERVICE, aad_token, form};

const CONFIG: &[u8] =
    br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#;

/// A gzipped tar holding one file.
fn layer(path: &str, data: &[u8]) -> Vec<u8> {
    test_support::layers::gzip(&test_support::layers::tar_files(&[(path, data)]))
}

fn image(layer_bytes: &[u8]) -> NewImage {
    ImageBuilder::new()
        .config_bytes(OCI_CONFIG, CONFIG.to_vec())
        .layer(ImageLayer::from_bytes(OCI_LAYER_GZIP, layer_bytes.to_vec()))
        .build()
        .unwrap()
}

fn with_aad(endpoint: &str, token: &str) -> Azure {
    test_support::init_tracing();
    Azure::builder(endpoint)
        .credential(StaticTokenCredential::new(token))
        .build()
        .unwrap()
}

fn anonymous(endpoint: &str) -> Azure {
    test_support::init_tracing();
    Azure::builder(endpoint).anonymous().build().unwrap()
}

/// The `scope` of each `/oauth2/token` request from index `from` on.
fn scopes_since(acr: &AcrTokenService, from: usize) -> Vec<String> {
    acr.token_requests()[from..]
        .iter()
        .map(|r| form(r)["scope"].clone())
        .collect()
}

#[tokio::test]
async fn aad_credential_pushes_and_pulls_with_one_exchange() {
    let acr = AcrTokenService::start(false).await;
    let registry = acr.registry().await;
    let azure = with_aad(&registry.url(), &aad_token());
    let app = azure.registry().with_segment("team/app");

    let layer_bytes = layer("bin/tool", b"#!/bin/sh\necho hi\n");
    let new = image(&layer_bytes);
    let pushed = app.push_image("v1", &new).await.unwrap();
    assert_eq!(pushed.copied, 2, "config and layer uploaded");
    assert_eq!(&pushed.digest, new.digest());

    let manifest = app.get_manifest("v1").await.unwrap();
    assert_eq!(manifest.digest(), new.digest());
    assert_eq!(manifest.bytes(), new.manifest().bytes());

    let pulled = app.get_image("v1", &Default::default()).await.unwrap();
    assert_eq!(pulled.digest(), new.digest());
    assert_eq!(pulled.config_bytes().as_ref(), CONFIG);
    assert_eq!(pulled.layers().len(), 1);
    let blob = pulled.layer(0).await.unwrap().bytes(1 << 20).await.unwrap();
    assert_eq!(blob.as_ref(), layer_bytes.as_slice());

    assert_eq!(app.list_tags().await.unwrap(), ["v1"]);

    // One AAD exchange for everything, carrying the AAD token.
    let exchanges = acr.exchanges();
    assert_eq!(exchanges.len(), 1);
    let f = form(&exchanges[0]);
    assert_eq!(f["grant_type"], "access_token");
    assert_eq!(f["service"], TOKEN_SERVICE);
    assert_eq!(f["access_token"], aad_token());

    // One access token per scope set, both from the one refresh token the
    // exchange handed out: pull (the push first checks which blobs exist,
    // and every later read reuses it), then pull,push for the uploads.
    assert_eq!(
        scopes_since(&acr, 0),
        ["repository:team/app:pull", "repository:team/app:pull,push"]
    );
    let refresh: Vec<String> = acr
        .token_requests()
        .iter()
        .map(|r| {
            let f = form(r);
            assert_eq!(f["grant_type"], "refresh_token");
            assert_eq!(f["service"], TOKEN_SERVICE);
            f["refresh_token"].clone()
        })
        .collect();
    assert_eq!(refresh[0], refresh[1]);
    assert_eq!(refresh[0].split('.').count(), 3, "a JWT refresh token");

    // Cached tokens: more reads of the same scopes ask for nothing.
    let before = (acr.exchanges().len(), acr.token_requests().len());
    app.get_manifest("v1").await.unwrap();
    app.check_image_exists("v1").await.unwrap();
    assert_eq!(app.list_tags().await.unwrap(), ["v1"]);
    assert_eq!((acr.exchanges().len(), acr.token_requests().len()), before);
}

#[tokio::test]
async fn anonymous_pull_where_allowed_and_no_anonymous_push() {
    let acr = AcrTokenService::start(true).await;
    let registry = acr.registry().await;
    let layer_bytes = layer("index.html", b"<h1>public</h1>");
    let new = image(&layer_bytes);
    with_aad(&registry.url(), &aad_token())
        .registry()
        .with_segment("public/app")
        .push_image("v1", &new)
        .await
        .unwrap();
    let exchanges = acr.exchanges().len();
    let tokens = acr.token_requests().len();

    let anon = anonymous(&registry.url());
    let app = anon.registry().with_segment("public/app");
    let manifest = app.get_manifest("v1").await.unwrap();
    assert_eq!(manifest.digest(), new.digest());
    let pulled = app.get_image("v1", &Default::default()).await.unwrap();
    let blob = pulled.layer(0).await.unwrap().bytes(1 << 20).await.unwrap();
    assert_eq!(blob.as_ref(), layer_bytes.as_slice());
    assert_eq!(app.list_tags().await.unwrap(), ["v1"]);

    // Pull-only tokens from the anonymous grant, no exchange.
    assert_eq!(
        acr.exchanges().len(),
        exchanges,
        "no exchange when anonymous"
    );
    assert_eq!(scopes_since(&acr, tokens), ["repository:public/app:pull"]);
    for r in &acr.token_requests()[tokens..] {
        let f = form(r);
        assert_eq!(f["grant_type"], "password");
        assert_eq!(f["refresh_token"], "");
        assert_eq!(f["service"], TOKEN_SERVICE);
    }

    // Pushing anonymously: the token grants pull only, the registry refuses.
    let other = image(&layer("index.html", b"<h1>defaced</h1>"));
    let err = app.push_image("v2", &other).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthorized, "{err}");
    assert_eq!(acr.exchanges().len(), exchanges);
    assert_eq!(app.list_tags().await.unwrap(), ["v1"], "nothing was tagged");
}

#[tokio::test]
async fn anonymous_where_not_allowed_is_unauthorized() {
    let acr = AcrTokenService::start(false).await;
    let registry = acr.registry().await;
    with_aad(&registry.url(), &aad_token())
        .registry()
        .with_segment("private/app")
        .push_image("v1", &image(&layer("secret", b"s")))
        .await
        .unwrap();
    let exchanges = acr.exchanges().len();

    let anon = anonymous(&registry.url());
    let app = anon.registry().with_segment("private/app");
    let err = app.get_manifest("v1").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthorized, "{err}");
    let err = app.list_tags().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthorized, "{err}");
    let err = app
        .push_image("v2", &image(&layer("x", b"x")))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthorized, "{err}");
    assert_eq!(
        acr.exchanges().len(),
        exchanges,
        "no exchange when anonymous"
    );
}

#[tokio::test]
async fn a_wrong_aad_token_is_unauthorized_and_never_shown() {
    const WRONG: &str = "wrong-aad-token-Zq8vX2";
    let acr = AcrTokenService::start(false).await;
    let registry = acr.registry().await;
    let azure = with_aad(&registry.url(), WRONG);
    let app = azure.registry().with_segment("team/app");

    let pull = app.get_manifest("v1").await.unwrap_err();
    assert_eq!(acr.exchanges().len(), 1, "the pull tried one exchange");
    let push = app
        .push_image("v1", &image(&layer("a", b"a")))
        .await
        .unwrap_err();
    assert!(acr.exchanges().len() > 1, "the push tried again");
    for err in [&pull, &push] {
        assert_eq!(err.kind(), ErrorKind::Unauthorized, "{err}");
        let shown = err.to_string();
        assert!(shown.contains("exchanging the AAD token"), "{shown}");
        assert!(!shown.contains(WRONG), "the token leaked: {shown}");
        let debug = format!("{err:?}");
        assert!(!debug.contains(WRONG), "the token leaked: {debug}");
    }

    // The exchange saw the token (and refused it); no ACR token was asked.
    assert!(
        acr.exchanges()
            .iter()
            .all(|r| form(r)["access_token"] == WRONG)
    );
    assert_eq!(acr.token_requests().len(), 0);
}

#[test]
fn the_endpoint_is_parsed_once_and_its_scheme_decides() {
    let acr = Azure::builder("HTTPS://MyReg.azurecr.io:443/")
        .anonymous()
        .build()
        .unwrap();
    assert_eq!(acr.registry().registry(), "myreg.azurecr.io");
    assert_eq!(
        acr.metadata().endpoint().as_str(),
        "https://myreg.azurecr.io/"
    );
    // A loopback registry named with https:// is spoken to over HTTPS
    // (loopback hosts default to plain HTTP only when nothing says).
    let acr = Azure::builder("https://127.0.0.1:5000")
        .anonymous()
        .build()
        .unwrap();
    assert!(
        format!("{:?}", acr.registry()).contains("\"https://127.0.0.1:5000\""),
        "{:?}",
        acr.registry()
    );
    for bad in [
        "https://x.azurecr.io/v2/",
        "ftp://x.azurecr.io",
        "https://u:p@x.azurecr.io",
    ] {
        let err = Azure::builder(bad).anonymous().build().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{bad}: {err}");
    }
}
