//! Running the built `crctl` binary against a fake ACR.
//!
//! Shared by the `acr_*` test binaries; each uses only some of the helpers.
#![allow(dead_code)]

use std::collections::HashMap;
use std::process::Stdio;

use http::Method;
use serde_json::Value;
use test_support::fake_acr::FakeAcr;
use test_support::http::RecordedRequest;
use tokio::io::AsyncWriteExt;

/// The AAD access token the fakes accept when built with `aad_token(AAD)`.
pub const AAD: &str = "aad-token-for-crctl";

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
        assert_eq!(self.code, 0, "crctl failed: {}", self.stderr);
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {:?}", self.stdout))
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

/// Options of one run.
#[derive(Default)]
pub struct Opts<'a> {
    pub env: Vec<(&'a str, &'a str)>,
    pub stdin: Option<&'a str>,
}

/// Runs `crctl args…` with a clean environment (no credentials from the
/// caller's).
pub async fn crctl_with(args: &[&str], opts: Opts<'_>) -> Run {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_crctl"));
    cmd.args(args)
        .env_remove("AZURE_ACCESS_TOKEN")
        .env_remove("CRCTL_USERNAME")
        .env_remove("CRCTL_PASSWORD")
        .env_remove("CRCTL_LOG")
        .stdin(if opts.stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for (k, v) in opts.env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("crctl starts");
    if let Some(input) = opts.stdin {
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(input.as_bytes()).await.unwrap();
        drop(stdin);
    }
    let out = child.wait_with_output().await.unwrap();
    Run {
        code: out.status.code().expect("crctl exited normally"),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
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
