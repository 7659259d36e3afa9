//! `crctl` against docker-registry serving HTTPS on 127.0.0.1 with a
//! self-signed certificate: `--ca-file` trusts it and `--insecure` skips
//! verification (both mean HTTPS, although loopback hosts default to plain
//! HTTP); a CA that did not sign it is a one-line certificate error, exit 1.

use std::process::Output;

use test_support::TestRegistry;
use test_support::registry::TLS_CERT_PEM;

fn crctl(args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_crctl"))
        .args(args)
        .env_remove("CRCTL_USERNAME")
        .env_remove("CRCTL_PASSWORD")
        .env_remove("SSL_CERT_FILE")
        .env("DOCKER_CONFIG", "/nonexistent-crctl-test")
        .output()
        .expect("run crctl")
}

fn stdout(o: &Output) -> String {
    assert_eq!(
        o.status.code(),
        Some(0),
        "crctl failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout.clone()).unwrap()
}

#[tokio::test]
async fn https_registry_with_ca_file_or_insecure() {
    let registry = TestRegistry::builder().tls().start().await;
    let host = registry.host();
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, TLS_CERT_PEM).unwrap();
    let ca = ca.to_str().unwrap();
    let blob = dir.path().join("blob.bin");
    std::fs::write(&blob, b"bytes over TLS").unwrap();
    let repo = format!("{host}/tls/app");

    // Trusted through --ca-file: a blob goes up and comes back intact.
    let digest = stdout(&crctl(&[
        "--ca-file",
        ca,
        "blob",
        "put",
        &repo,
        blob.to_str().unwrap(),
    ]));
    let digest = digest.trim();
    assert_eq!(
        digest,
        facade::core::Digest::sha256_of(b"bytes over TLS").to_string()
    );
    let out = dir.path().join("back.bin");
    stdout(&crctl(&[
        "--ca-file",
        ca,
        "blob",
        "get",
        &format!("{repo}@{digest}"),
        "-o",
        out.to_str().unwrap(),
    ]));
    assert_eq!(std::fs::read(&out).unwrap(), b"bytes over TLS");

    // Another CA: exit 1, one line naming the certificate problem, no file.
    let other_ca = dir.path().join("other-ca.pem");
    std::fs::write(&other_ca, test_support::token::CERT_PEM).unwrap();
    let refused = dir.path().join("refused.bin");
    let o = crctl(&[
        "--ca-file",
        other_ca.to_str().unwrap(),
        "blob",
        "get",
        &format!("{repo}@{digest}"),
        "-o",
        refused.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert!(stderr.to_lowercase().contains("certificate"), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(!refused.exists());

    // --insecure: verification skipped.
    let insecure = dir.path().join("insecure.bin");
    stdout(&crctl(&[
        "--insecure",
        "blob",
        "get",
        &format!("{repo}@{digest}"),
        "-o",
        insecure.to_str().unwrap(),
    ]));
    assert_eq!(std::fs::read(&insecure).unwrap(), b"bytes over TLS");
}

#[tokio::test]
async fn login_with_insecure_probes_over_https_like_every_command() {
    let registry = TestRegistry::builder()
        .tls()
        .htpasswd("ci", "tls-pw")
        .start()
        .await;
    let host = registry.host();
    let dir = tempfile::tempdir().unwrap();
    let login = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend_from_slice(&["login", &host, "-u", "ci"]);
        std::process::Command::new(env!("CARGO_BIN_EXE_crctl"))
            .args(&all)
            .env_remove("CRCTL_USERNAME")
            .env_remove("CRCTL_PASSWORD")
            .env_remove("SSL_CERT_FILE")
            .env("DOCKER_CONFIG", dir.path())
            .output()
            .expect("run crctl")
    };
    // --insecure means HTTPS, for login as for every command: it succeeds
    // and stores the credentials.
    stdout(&login(&["--insecure", "-p", "tls-pw"]));
    let stored: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("config.json")).unwrap()).unwrap();
    assert!(stored["auths"][&host]["auth"].is_string(), "{stored}");
    // The probe went over TLS: the registry logged the authorized
    // `GET /v2/` as HTTP/2, which crctl only speaks when ALPN offers it in a
    // TLS handshake (plain HTTP is HTTP/1.1).
    let log = registry.log_contents();
    assert!(
        log.lines()
            .any(|l| l.contains("\"GET /v2/ HTTP/2.0\" 200") && l.contains("crctl/")),
        "{log}"
    );

    // A wrong password over HTTPS: refused credentials, exit 4.
    let o = login(&["--insecure", "-p", "wrong"]);
    assert_eq!(
        o.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );

    // Without --insecure or --ca-file a loopback host is plain HTTP for
    // login too, which this HTTPS-only registry does not speak: exit 1.
    let o = login(&["-p", "tls-pw"]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}
