//! Running the built `crctl` binary against the fake Magalu API.

#![allow(dead_code)]

#[path = "run.rs"]
mod run;

use serde_json::Value;
use test_support::fake_mgc::{API_KEY, MagaluFake};
use test_support::http::RecordedRequest;

pub use self::run::Run;

/// Runs `crctl args…` with a clean environment (no credentials, region or
/// URL from the caller's) plus `env`.
pub async fn crctl_env(args: &[&str], env: &[(&str, &str)]) -> Run {
    let unset = [
        "MGC_API_KEY",
        "MGC_TOKEN",
        "MGC_REGION",
        "MGC_API_URL",
        "CRCTL_USERNAME",
        "CRCTL_PASSWORD",
        "CRCTL_LOG",
    ];
    run::crctl(args, &unset, env, None).await
}

/// `crctl mgc --api-url {fake} --api-key API_KEY args…`.
pub async fn mgc(fake: &MagaluFake, args: &[&str]) -> Run {
    let url = fake.url();
    let mut all = vec!["mgc", "--api-url", url.as_str(), "--api-key", API_KEY];
    all.extend_from_slice(args);
    crctl_env(&all, &[]).await
}

/// The decoded query pairs of a request, in order.
pub fn query(r: &RecordedRequest) -> Vec<(String, String)> {
    url::form_urlencoded::parse(r.query().unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}

/// The values of query parameter `name`, in order.
pub fn param(r: &RecordedRequest, name: &str) -> Vec<String> {
    query(r)
        .into_iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v)
        .collect()
}

/// The JSON body of a request.
pub fn body(r: &RecordedRequest) -> Value {
    serde_json::from_slice(&r.body).expect("a JSON body")
}

/// The only request received, after checking there was exactly one.
#[track_caller]
pub fn only(fake: &MagaluFake) -> RecordedRequest {
    let all = fake.requests();
    assert_eq!(all.len(), 1, "{all:?}");
    all.into_iter().next().unwrap()
}

/// `METHOD path` of a request.
pub fn line(r: &RecordedRequest) -> String {
    format!("{} {}", r.method, r.path())
}
