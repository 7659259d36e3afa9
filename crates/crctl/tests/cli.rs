//! The command line itself: completions, and a closed stdout.

use std::process::{Command, Stdio};

fn crctl() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_crctl"));
    cmd.env_remove("RUST_BACKTRACE");
    cmd
}

#[test]
fn completions_cover_every_command() {
    let out = crctl().args(["completions", "bash"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let script = String::from_utf8(out.stdout).unwrap();
    assert!(script.contains("_crctl()"), "not a bash completion script");
    for word in ["copy", "digest", "referrers", "mgc", "acr", "proxy-caches"] {
        assert!(script.contains(word), "{word} missing from the completions");
    }
}

#[test]
fn a_closed_stdout_is_not_a_crash() {
    // The reading end is closed before crctl writes: every write fails
    // with EPIPE, which is how `crctl … | head` ends.
    for args in [&["completions", "zsh"][..], &["--help"][..]] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = crctl()
            .args(args)
            .stdout(writer)
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
    }
}
