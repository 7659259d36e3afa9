//! Auth flows against local registries: anonymous, htpasswd (Basic) and
//! token auth (Bearer, with one token fetch reused).

use facade::core::ErrorKind;
use test_support::{TestRegistry, TokenServer};

use super::report::Outcome;
use super::{check, e, ensure, fixtures};

fn client(host: &str, creds: Option<(&str, &str)>) -> Result<facade::oci::Client, String> {
    let mut b = facade::Registry::builder(host).docker_config(false);
    if let Some((u, p)) = creds {
        b = b.credentials(u, p);
    }
    b.build().map_err(e("client"))
}

pub(crate) async fn run(out: &mut Vec<Outcome>) {
    check(
        out,
        "auth",
        "anonymous push and pull",
        Box::pin(async {
            let registry = TestRegistry::anonymous().await;
            let repo = client(&registry.host(), None)?.with_segment("anon/app");
            let img = fixtures::image(1, 40);
            repo.push_image("v1", &img).await.map_err(e("push"))?;
            let d = repo.get_digest("v1").await.map_err(e("pull"))?;
            ensure(&d == img.digest(), || "digest differs".into())
        }),
    )
    .await;

    check(
        out,
        "auth",
        "htpasswd: right password works, wrong is Unauthorized",
        Box::pin(async {
            let registry = TestRegistry::htpasswd("conf", "pw-123").await;
            let repo =
                client(&registry.host(), Some(("conf", "pw-123")))?.with_segment("basic/app");
            let img = fixtures::image(1, 41);
            repo.push_image("v1", &img).await.map_err(e("push"))?;
            repo.get_manifest("v1").await.map_err(e("pull"))?;
            let wrong = client(&registry.host(), Some(("conf", "nope")))?.with_segment("basic/app");
            match wrong.get_manifest("v1").await {
                Err(err) if err.kind() == ErrorKind::Unauthorized => Ok(()),
                other => Err(format!(
                    "wrong password: expected Unauthorized, got {other:?}"
                )),
            }
        }),
    )
    .await;

    check(
        out,
        "auth",
        "token: push and pull, one token per scope",
        Box::pin(async {
            let tokens = TokenServer::builder().user("conf", "pw-456").start().await;
            let registry = TestRegistry::token(&tokens).await;
            let repo =
                client(&registry.host(), Some(("conf", "pw-456")))?.with_segment("token/app");
            let img = fixtures::image(3, 42);
            repo.push_image("v1", &img).await.map_err(e("push"))?;
            let before = tokens.request_count();
            for _ in 0..5 {
                repo.get_manifest("v1").await.map_err(e("pull"))?;
            }
            let pulls = tokens.request_count() - before;
            ensure(pulls <= 1, || format!("{pulls} token requests for 5 pulls"))?;
            let anonymous =
                client(&registry.host(), Some(("conf", "wrong")))?.with_segment("token/app");
            match anonymous.get_manifest("v1").await {
                Err(err) if err.kind() == ErrorKind::Unauthorized => Ok(()),
                other => Err(format!(
                    "bad credentials: expected Unauthorized, got {other:?}"
                )),
            }
        }),
    )
    .await;
}
