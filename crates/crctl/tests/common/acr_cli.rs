//! Running the built `crctl` binary against a fake ACR.
//!
//! Shared by the `acr_*` test binaries; each uses only some of the helpers.
#![allow(dead_code)]

#[path = "run.rs"]
mod run;

use std::collections::HashMap;

use http::Method;
use serde_json::Value;
use test_support::fake_acr::FakeAcr;
use test_support::http::RecordedRequest;

pub use self::run::Run;

/// The AAD access token the fakes accept when built with `aad_token(AAD)`.
pub const AAD: &str = "aad-token-for-crctl";

/// Options of one run.
#[derive(Default)]
pub struct Opts<'a> {
    pub env: Vec<(&'a str, &'a str)>,
    pub stdin: Option<&'a str>,
}

/// Runs `crctl args…` with a clean environment (no credentials from the
/// caller's).
pub async fn crctl_with(args: &[&str], opts: Opts<'_>) -> Run {
    let unset = [
        "AZURE_ACCESS_TOKEN",
        "CRCTL_USERNAME",
        "CRCTL_PASSWORD",
        "CRCTL_LOG",
        // The Azure identity environment credential.
        "AZURE_TENANT_ID",
        "AZURE_CLIENT_ID",
        "AZURE_CLIENT_SECRET",
        "AZURE_FEDERATED_TOKEN_FILE",
        "AZURE_CLIENT_CERTIFICATE_PATH",
        "AZURE_AUTHORITY_HOST",
    ];
    run::crctl(args, &unset, &opts.env, opts.stdin).await
}

/// `crctl --plain-http acr --endpoint {fake} args…`.
pub async fn acr(fake: &FakeAcr, args: &[&str]) -> Run {
    acr_with(fake, args, Opts::default()).await
}

/// Same, with environment or standard input.
pub async fn acr_with(fake: &FakeAcr, args: &[&str], opts: Opts<'_>) -> Run {
    let url = fake.url();
    let mut all = vec!["--plain-http", "acr", "--endpoint", url.as_str()];
    all.extend_from_slice(args);
    crctl_with(&all, opts).await
}

/// `acr` with `--anonymous` first.
pub async fn anonymous(fake: &FakeAcr, args: &[&str]) -> Run {
    acr(fake, &[&["--anonymous"], args].concat()).await
}

/// `acr` with `--aad-token AAD` first.
pub async fn with_aad(fake: &FakeAcr, args: &[&str]) -> Run {
    acr(fake, &[&["--aad-token", AAD], args].concat()).await
}

/// `acr` with the variables `env` set.
pub async fn acr_env(fake: &FakeAcr, args: &[&str], env: &[(&str, &str)]) -> Run {
    let opts = Opts {
        env: env.to_vec(),
        ..Opts::default()
    };
    acr_with(fake, args, opts).await
}

/// The decoded query of a request.
pub fn query(r: &RecordedRequest) -> HashMap<String, String> {
    url::form_urlencoded::parse(r.query().unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}

/// The requests with `method` to `path`.
pub fn requests_to(fake: &FakeAcr, method: Method, path: &str) -> Vec<RecordedRequest> {
    fake.requests()
        .into_iter()
        .filter(|r| r.method == method && r.path() == path)
        .collect()
}

/// The PATCH requests: (path, exact body, content type).
pub fn patches(fake: &FakeAcr) -> Vec<(String, String, String)> {
    fake.requests()
        .into_iter()
        .filter(|r| r.method == Method::PATCH)
        .map(|r| {
            (
                r.path().to_owned(),
                String::from_utf8(r.body.to_vec()).unwrap(),
                r.header("content-type").unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// The names of a JSON array of tags.
pub fn names(v: &Value) -> Vec<String> {
    v.as_array()
        .expect("an array")
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect()
}
