//! `crctl acr` with the Azure identity environment credential (cargo
//! feature `azure-identity`, on by default): which Azure variables select a
//! credential, usage errors for partial settings before any request, the
//! precedence of the other ways to authenticate, and the client secret kept
//! out of stderr even at `-vv`.
//!
//! No test here sends a token request: `azure_identity` only accepts an
//! `https://` authority host (`AZURE_AUTHORITY_HOST`), so there is no plain
//! HTTP fake Entra ID on 127.0.0.1 to point it at, and nothing may reach
//! login.microsoftonline.com.
#![cfg(feature = "azure-identity")]

#[path = "common/acr_cli.rs"]
mod cli;

use cli::{AAD, Opts, Run, acr, acr_with};
use test_support::fake_acr::{DIGEST_A, FakeAcr};

const TENANT: &str = "72f988bf-0000-4000-8000-000000000001";
const CLIENT: &str = "0b1c2d3e-0000-4000-8000-000000000002";
const SECRET: &str = "client-secret-that-must-never-be-printed";

/// `crctl -vv --plain-http acr --endpoint {fake} repositories list` with
/// `env` (and `extra` flags before the subcommand).
async fn list(fake: &FakeAcr, extra: &[&str], env: &[(&'static str, &str)]) -> Run {
    let mut args = vec!["-vv"];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["repositories", "list"]);
    acr_with(
        fake,
        &args,
        Opts {
            env: env.to_vec(),
            ..Opts::default()
        },
    )
    .await
}

/// Environment variables to set.
type Env<'a> = Vec<(&'static str, &'a str)>;

#[track_caller]
fn no_secret(run: &Run) {
    assert!(!run.stderr.contains(SECRET), "{}", run.stderr);
    assert!(!run.stdout.contains(SECRET), "{}", run.stdout);
}

#[tokio::test]
async fn partial_azure_settings_are_usage_errors_before_any_request() {
    let fake = FakeAcr::builder().aad_token(AAD).start().await;
    let tenant = ("AZURE_TENANT_ID", TENANT);
    let client = ("AZURE_CLIENT_ID", CLIENT);
    let secret = ("AZURE_CLIENT_SECRET", SECRET);
    let token_file = ("AZURE_FEDERATED_TOKEN_FILE", "/var/run/token");
    let cases: Vec<(Env<'_>, Vec<&str>)> = vec![
        // A client ID alone: not a managed identity unless asked for.
        (
            vec![client],
            vec!["AZURE_TENANT_ID is not set", "--azure-identity managed"],
        ),
        (vec![tenant, secret], vec!["AZURE_CLIENT_ID is not set"]),
        (vec![client, secret], vec!["AZURE_TENANT_ID is not set"]),
        (vec![client, token_file], vec!["AZURE_TENANT_ID is not set"]),
        (vec![tenant, token_file], vec!["AZURE_CLIENT_ID is not set"]),
        (vec![tenant], vec!["AZURE_CLIENT_ID is not set"]),
        (
            vec![tenant, client],
            vec!["AZURE_CLIENT_SECRET or AZURE_FEDERATED_TOKEN_FILE is not set"],
        ),
        (
            vec![
                tenant,
                client,
                ("AZURE_CLIENT_CERTIFICATE_PATH", "/etc/sp.pem"),
            ],
            vec![
                "AZURE_CLIENT_SECRET or AZURE_FEDERATED_TOKEN_FILE",
                "not supported",
            ],
        ),
        // Blank is unset.
        (
            vec![("AZURE_TENANT_ID", "  "), client, secret],
            vec!["AZURE_TENANT_ID is not set"],
        ),
    ];
    for (env, words) in cases {
        let run = list(&fake, &[], &env).await;
        run.failed(2, &words);
        // The message says what a complete setting is.
        run.failed(2, &["AZURE_FEDERATED_TOKEN_FILE (workload identity)"]);
        no_secret(&run);
    }
    assert_eq!(fake.request_count(), 0, "no request before the usage error");
}

#[tokio::test]
async fn azure_identity_flag_usage_errors() {
    let fake = FakeAcr::builder().aad_token(AAD).start().await;
    let secret = [("AZURE_CLIENT_SECRET", SECRET)];
    let cases: Vec<(Vec<&str>, &str)> = vec![
        // `env` requires the environment credential.
        (
            vec!["--azure-identity", "env"],
            "AZURE_TENANT_ID is not set",
        ),
        (
            vec!["--azure-identity", "managed", "--anonymous"],
            "cannot be used with",
        ),
        (
            vec!["--azure-identity", "cli", "--aad-token", "t"],
            "cannot be used with",
        ),
        (
            vec!["--azure-identity", "env", "-u", "admin", "-p", "x"],
            "--azure-identity and -u/-p",
        ),
        (vec!["--azure-identity", "sideways"], "sideways"),
    ];
    for (flags, word) in cases {
        let run = list(&fake, &flags, &secret).await;
        run.failed(2, &[word]);
        no_secret(&run);
    }
    // Nothing at all: the message lists the Azure variables too.
    acr(&fake, &["repositories", "list"]).await.failed(
        2,
        &[
            "no credentials",
            "AZURE_CLIENT_SECRET",
            "AZURE_FEDERATED_TOKEN_FILE",
            "--azure-identity",
        ],
    );
    assert_eq!(fake.request_count(), 0);
}

#[tokio::test]
async fn bad_complete_settings_fail_before_any_request_without_the_secret() {
    let fake = FakeAcr::builder().aad_token(AAD).start().await;
    let dir = tempfile::tempdir().unwrap();
    let missing_file = dir.path().join("no-such-token");
    let missing_file = missing_file.to_str().unwrap();
    let complete = [
        ("AZURE_TENANT_ID", TENANT),
        ("AZURE_CLIENT_ID", CLIENT),
        ("AZURE_CLIENT_SECRET", SECRET),
    ];
    let with = |extra: (&'static str, &'static str)| {
        let mut env = complete.to_vec();
        env.push(extra);
        env
    };
    // A plain-HTTP authority host: azure_identity refuses it, so the secret
    // never travels in clear.
    let http_host = with(("AZURE_AUTHORITY_HOST", "http://127.0.0.1:9/"));
    for flags in [&[][..], &["--azure-identity", "env"][..]] {
        let run = list(&fake, flags, &http_host).await;
        run.failed(2, &["client secret credential", "HTTPS"]);
        no_secret(&run);
    }
    // An invalid tenant.
    let mut bad_tenant = complete.to_vec();
    bad_tenant[0] = ("AZURE_TENANT_ID", "not/a/tenant");
    let run = list(&fake, &[], &bad_tenant).await;
    run.failed(2, &["client secret credential", "tenant"]);
    no_secret(&run);
    // Workload identity with a token file that is not there.
    let workload = [
        ("AZURE_TENANT_ID", TENANT),
        ("AZURE_CLIENT_ID", CLIENT),
        ("AZURE_FEDERATED_TOKEN_FILE", missing_file),
    ];
    list(&fake, &[], &workload)
        .await
        .failed(2, &["workload identity credential", "no-such-token"]);
    assert_eq!(fake.request_count(), 0);
}

#[tokio::test]
async fn other_ways_to_authenticate_come_before_the_azure_environment() {
    let fake = FakeAcr::builder().aad_token(AAD).start().await;
    // Partial Azure settings don't matter when another way is chosen:
    // AZURE_ACCESS_TOKEN…
    let partial = ("AZURE_CLIENT_ID", CLIENT);
    let ok = acr_with(
        &fake,
        &["tags", "show", "app", "v1"],
        Opts {
            env: vec![partial, ("AZURE_ACCESS_TOKEN", AAD)],
            ..Opts::default()
        },
    )
    .await;
    assert_eq!(ok.json()["tag"]["digest"], DIGEST_A);
    assert_eq!(fake.count("POST", "/oauth2/exchange"), 1);
    // …--aad-token, and --anonymous (refused by this registry: exit 4, not
    // a usage error).
    fake.clear_requests();
    list(
        &fake,
        &["--aad-token", AAD],
        &[partial, ("AZURE_CLIENT_SECRET", SECRET)],
    )
    .await
    .ok();
    let anonymous = list(&fake, &["--anonymous"], &[partial]).await;
    anonymous.failed(4, &[]);
    assert_eq!(fake.count("POST", "/oauth2/exchange"), 1);
    // …and -u/-p.
    let admin = FakeAcr::builder().basic("admin", "s3cret").start().await;
    list(&admin, &["-u", "admin", "-p", "s3cret"], &[partial])
        .await
        .ok();
}
