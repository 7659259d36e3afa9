//! The client against authenticating registries: htpasswd (Basic) and the
//! Docker token flow, including pushes with streamed bodies, the catalog
//! and a cross-repository mount whose token covers both repositories.

mod common;

use oci_dist::copy::{CopyOptions, copy};
use oci_dist::image::GetImageOptions;
use oci_dist::{Client, ErrorKind};
use registry_core::credentials::{Credential, Static};
use test_support::{TestRegistry, TokenServer};

fn with_credentials(url: &str, host: &str, user: &str, password: &str) -> Client {
    test_support::init_tracing();
    Client::builder(url)
        .credentials(Static::new(Credential::basic(user, password)).for_host(host))
        .build()
        .unwrap()
}

#[tokio::test]
async fn htpasswd_registry() {
    let registry = TestRegistry::htpasswd("alice", "secret").await;
    let root = with_credentials(&registry.url(), &registry.host(), "alice", "secret");
    let app = root.with_segment("basic/app");
    let img = common::small_image(2, 300_000, 30);
    let report = app.push_image("v1", &img).await.unwrap();
    assert_eq!(report.copied, 3);
    let image = app
        .get_image("v1", &GetImageOptions::default())
        .await
        .unwrap();
    assert_eq!(image.digest(), img.digest());
    assert_eq!(app.list_tags().await.unwrap(), ["v1"]);
    assert_eq!(root.list_repositories().await.unwrap(), ["basic/app"]);

    let wrong = with_credentials(&registry.url(), &registry.host(), "alice", "nope")
        .with_segment("basic/app");
    let err = wrong.get_manifest("v1").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthorized, "{err}");
    assert!(!err.to_string().contains("nope"));
    let anonymous = common::client_for(&registry).with_segment("basic/app");
    assert_eq!(
        anonymous.check_image_exists("v1").await.unwrap_err().kind(),
        ErrorKind::Unauthorized
    );
}

#[tokio::test]
async fn token_registry_push_pull_list_and_mount() {
    let tokens = TokenServer::builder().user("alice", "secret").start().await;
    let registry = TestRegistry::token(&tokens).await;
    let root = with_credentials(&registry.url(), &registry.host(), "alice", "secret");
    let src = root.with_segment("tok/src");
    let img = common::small_image(2, 200_000, 31);
    src.push_image("v1", &img).await.unwrap();
    assert_eq!(src.get_digest("v1").await.unwrap(), *img.digest());
    assert_eq!(src.list_tags().await.unwrap(), ["v1"]);
    assert_eq!(root.list_repositories().await.unwrap(), ["tok/src"]);

    // Chunked uploads with a token too.
    let chunked = Client::builder(&registry.url())
        .credentials(Static::new(Credential::basic("alice", "secret")).for_host(registry.host()))
        .chunk_size(64 * 1024)
        .chunked_uploads(true)
        .build()
        .unwrap()
        .with_segment("tok/chunked");
    let data = common::bytes(150_000, 32);
    let d = chunked.push_blob_bytes(data.clone()).await.unwrap();
    assert_eq!(
        chunked
            .get_blob(&d)
            .await
            .unwrap()
            .bytes(1 << 20)
            .await
            .unwrap(),
        data
    );

    // A mount needs push on the destination and pull on the source.
    tokens.clear_requests();
    let dst = root.with_segment("tok/dst");
    let report = copy(&src, "v1", &dst, "v1", &CopyOptions::default())
        .await
        .unwrap();
    assert_eq!((report.mounted, report.copied), (3, 0));
    let scopes: Vec<String> = tokens
        .requests()
        .iter()
        .flat_map(|r| r.scopes.clone())
        .collect();
    assert!(
        scopes.iter().any(|s| s == "repository:tok/src:pull"),
        "{scopes:?}"
    );
    assert!(
        scopes.iter().any(|s| s == "repository:tok/dst:pull,push"),
        "{scopes:?}"
    );
    assert_eq!(dst.get_digest("v1").await.unwrap(), *img.digest());

    // Wrong credentials: the token server refuses, the client says unauthorized.
    let wrong =
        with_credentials(&registry.url(), &registry.host(), "alice", "bad").with_segment("tok/src");
    let err = wrong.get_manifest("v1").await.unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::Unauthorized | ErrorKind::Denied),
        "{err}"
    );
}
