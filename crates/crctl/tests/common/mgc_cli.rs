//! Running the built `crctl` binary against the fake Magalu API.

#![allow(dead_code)]

use std::process::Stdio;

use serde_json::Value;
use test_support::fake_mgc::{API_KEY, MagaluFake};
use test_support::http::RecordedRequest;

/// What one run of `crctl` did.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Stdout as JSON, after checking the run succeeded.
    #[track_caller]
    pub fn json(&self) -> Value {
        self.ok();
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {:?}", self.stdout))
    }

    /// Checks the run succeeded.
    #[track_caller]
    pub fn ok(&self) -> &Run {
        assert_eq!(self.code, 0, "crctl failed: {}", self.stderr);
        self
    }

    /// Checks a failure: its exit code, nothing on stdout, one line on
    /// stderr containing every one of `words`.
    #[track_caller]
    pub fn failed(&self, code: i32, words: &[&str]) {
        assert_eq!(
            self.code, code,
            "exit code; stdout {:?}, stderr {:?}",
            self.stdout, self.stderr
        );
        assert_eq!(self.stdout, "", "nothing on stdout");
        for w in words {
            assert!(self.stderr.contains(w), "{w:?} not in {:?}", self.stderr);
        }
    }
}

/// Runs `crctl args…` with a clean environment (no credentials, region or
/// URL from the caller's) plus `env`.
pub async fn crctl_env(args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_crctl"));
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for var in [
        "MGC_API_KEY",
        "MGC_TOKEN",
        "MGC_REGION",
        "MGC_API_URL",
        "CRCTL_USERNAME",
        "CRCTL_PASSWORD",
        "CRCTL_LOG",
    ] {
        cmd.env_remove(var);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().await.expect("crctl runs");
    Run {
        code: out.status.code().expect("crctl exited normally"),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
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
