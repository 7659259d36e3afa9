//! `facade::Magalu::from_env`: the `MGC_*` variables. The workspace forbids
//! `unsafe` (so no `set_var`): the test re-executes itself once per case
//! with that case's environment and does its checks in the child.

use std::process::Command;

use facade::Magalu;
use facade::core::ErrorKind;
use facade::mgc::{API_KEY_ENV, API_URL_ENV, REGION_ENV, Region, TOKEN_ENV};

const TEST: &str = "from_env_reads_the_mgc_variables";
const CASE: &str = "FACADE_MAGALU_ENV_CASE";

/// Runs this test in a child with `CASE=case` and exactly `vars` of the
/// `MGC_*` variables set.
fn in_child(case: &str, vars: &[(&str, &str)]) {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", TEST, "--nocapture"]).env(CASE, case);
    for name in [API_KEY_ENV, TOKEN_ENV, REGION_ENV, API_URL_ENV] {
        cmd.env_remove(name);
    }
    cmd.envs(vars.iter().copied());
    let out = cmd.output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "case {case} failed:\n{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("1 passed"),
        "case {case} ran no test:\n{text}"
    );
}

#[test]
fn from_env_reads_the_mgc_variables() {
    let Ok(case) = std::env::var(CASE) else {
        let all = [
            (API_KEY_ENV, "k1"),
            (TOKEN_ENV, "t1"),
            (REGION_ENV, "br-ne1"),
            (API_URL_ENV, "http://127.0.0.1:9/x/"),
        ];
        in_child("all", &all);
        in_child("token", &[(API_KEY_ENV, " "), (TOKEN_ENV, "Bearer t1")]);
        in_child("bad-region", &[(API_KEY_ENV, "k1"), (REGION_ENV, "mars-1")]);
        in_child("none", &[]);
        return;
    };
    match case.as_str() {
        // The API key wins over the token; the URL over the region's, which
        // still names the registry host.
        "all" => {
            let mgc = Magalu::from_env().unwrap();
            assert_eq!(mgc.api().base_url(), "http://127.0.0.1:9/x");
            assert_eq!(mgc.region(), Region::BrNe1);
            assert_eq!(
                mgc.registry_host(),
                "container-registry.br-ne1.magalu.cloud"
            );
            let api = format!("{:?}", mgc.api());
            assert!(api.contains("api key") && !api.contains("k1"), "{api}");
        }
        // A blank variable counts as unset.
        "token" => {
            let mgc = Magalu::from_env().unwrap();
            assert_eq!(mgc.region(), Region::BrSe1);
            assert_eq!(mgc.api().base_url(), Region::BrSe1.base_url());
            let api = format!("{:?}", mgc.api());
            assert!(api.contains("bearer token") && !api.contains("t1"), "{api}");
        }
        "bad-region" => {
            let err = Magalu::from_env().unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
            assert!(err.to_string().contains("mars-1"), "{err}");
        }
        "none" => {
            let err = Magalu::from_env().unwrap_err();
            assert!(err.to_string().contains(API_KEY_ENV), "{err}");
        }
        other => panic!("unknown case {other}"),
    }
}
