//! Running the built `crctl` binary and checking what it did; shared by
//! `acr_cli.rs` and `mgc_cli.rs`, which add their own environment and flags.

use std::process::Stdio;

use serde_json::Value;
use tokio::io::AsyncWriteExt;

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

    /// Checks the run succeeded and printed nothing on stdout.
    #[track_caller]
    pub fn silent(&self) {
        assert_eq!(
            (self.code, self.stdout.as_str()),
            (0, ""),
            "{}",
            self.stderr
        );
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

/// Runs `crctl args…` without the caller's variables `unset`, with `env`
/// added, and `stdin` as its standard input (none: `/dev/null`).
pub async fn crctl(
    args: &[&str],
    unset: &[&str],
    env: &[(&str, &str)],
    stdin: Option<&str>,
) -> Run {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_crctl"));
    cmd.args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for var in unset {
        cmd.env_remove(var);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("crctl starts");
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().unwrap();
        pipe.write_all(input.as_bytes()).await.unwrap();
        drop(pipe);
    }
    let out = child.wait_with_output().await.unwrap();
    Run {
        code: out.status.code().expect("crctl exited normally"),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

/// Runs `crctl args…` anonymous and isolated (no credentials from the
/// environment, no docker `config.json`, no log variable), failing the test
/// when it takes more than two minutes.
pub async fn crctl_anonymous(args: &[&str]) -> Run {
    let unset = ["CRCTL_USERNAME", "CRCTL_PASSWORD", "CRCTL_LOG"];
    let env = [("DOCKER_CONFIG", "/nonexistent-crctl-test")];
    tokio::time::timeout(
        std::time::Duration::from_secs(120),
        crctl(args, &unset, &env, None),
    )
    .await
    .expect("crctl finishes in time")
}

/// Runs `crctl args…` to completion on this thread, anonymous and isolated
/// as [`crctl_anonymous`], for tests that look at the raw [`Output`].
///
/// [`Output`]: std::process::Output
pub fn crctl_blocking(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_crctl"))
        .args(args)
        .env_remove("CRCTL_USERNAME")
        .env_remove("CRCTL_PASSWORD")
        .env_remove("CRCTL_LOG")
        .env("DOCKER_CONFIG", "/nonexistent-crctl-test")
        .output()
        .expect("run crctl")
}

/// The stdout of a run that must have succeeded.
#[track_caller]
pub fn stdout_of(o: &std::process::Output) -> String {
    assert!(
        o.status.success(),
        "crctl failed ({:?}): {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout.clone()).unwrap()
}
