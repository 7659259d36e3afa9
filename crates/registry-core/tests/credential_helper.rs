//! docker config.json credential helpers (`credHelpers`, `credsStore`),
//! run as real processes found on PATH. The workspace forbids `unsafe`, so
//! instead of `set_var` the test re-executes itself with the helpers' folder
//! on PATH and does its checks in that child.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use registry_core::credentials::{
    Credential, CredentialChain, CredentialProvider, DockerConfig, Static,
};

const CHILD: &str = "REGISTRY_CORE_CRED_HELPER_DIR";

fn write_script(path: &Path, body: &str) {
    std::fs::write(path, body).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn helpers_and_store_are_run() {
    let Some(dir) = std::env::var_os(CHILD) else {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        // `get` answers with credentials naming the host it was asked for.
        write_script(
            &bin.join("docker-credential-fake"),
            "#!/bin/sh\n[ \"$1\" = get ] || exit 1\nread host\nprintf '{\"ServerURL\":\"%s\",\"Username\":\"helper-user\",\"Secret\":\"pw-for-%s\"}' \"$host\" \"$host\"\n",
        );
        write_script(
            &bin.join("docker-credential-store"),
            "#!/bin/sh\nread host\nprintf '{\"ServerURL\":\"%s\",\"Username\":\"<token>\",\"Secret\":\"identity-xyz\"}' \"$host\"\n",
        );
        std::fs::write(
            dir.path().join("config.json"),
            r#"{"auths":{"plain.example":{"auth":"dTpw"}},"credHelpers":{"helped.example:5000":"fake"},"credsStore":"store"}"#,
        )
        .unwrap();
        let path = std::env::var("PATH").unwrap_or_default();
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "helpers_and_store_are_run", "--nocapture"])
            .env("PATH", format!("{}:{path}", bin.display()))
            .env(CHILD, dir.path())
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "child failed:\n{text}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(text.contains("1 passed"), "child ran no test:\n{text}");
        return;
    };

    let config = Path::new(&dir).join("config.json");
    let docker = DockerConfig::at(&config);
    assert_eq!(
        docker.credential("helped.example:5000"),
        Some(Credential::basic(
            "helper-user",
            "pw-for-helped.example:5000"
        ))
    );
    assert_eq!(
        docker.credential("plain.example"),
        Some(Credential::basic("u", "p"))
    );
    assert_eq!(
        docker.credential("stored.example"),
        Some(Credential::IdentityToken(registry_core::Secret::new(
            "identity-xyz"
        )))
    );

    // Explicit credentials win over the config file.
    let chain = CredentialChain::new()
        .with(Static::new(Credential::basic("explicit", "x")).for_host("plain.example"))
        .with(DockerConfig::at(&config));
    assert_eq!(
        chain.credential("plain.example"),
        Some(Credential::basic("explicit", "x"))
    );
    assert_eq!(
        chain.credential("helped.example:5000"),
        Some(Credential::basic(
            "helper-user",
            "pw-for-helped.example:5000"
        ))
    );
}
