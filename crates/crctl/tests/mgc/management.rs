//! Proxy caches, members and scans.

use serde_json::json;
use test_support::fake_mgc::MagaluFake;
use test_support::fake_mgc::spec::{MEMBER_ID, PROXY_CACHE_ID, SCAN_ID, USER_ID};

use crate::cli::{body, line, mgc, only, param};
use crate::{REG, REPO};

#[tokio::test]
async fn proxy_caches() {
    let fake = MagaluFake::start().await;
    let created = mgc(
        &fake,
        &[
            "proxy-caches",
            "create",
            "hub",
            "--provider",
            "docker-hub",
            "--url",
            "https://hub.docker.com",
            "--access-key",
            "me",
            "--access-secret",
            "hunter2",
            "--description",
            "mirror",
        ],
    )
    .await
    .json();
    assert_eq!(created["name"], "cool_registry_proxy");
    assert_eq!(
        body(&only(&fake)),
        json!({"name": "hub", "provider": "docker-hub", "url": "https://hub.docker.com",
               "access_key": "me", "access_secret": "hunter2", "description": "mirror"})
    );

    // PATCH carries only the flags given.
    fake.clear_requests();
    let updated = mgc(
        &fake,
        &[
            "proxy-caches",
            "update",
            PROXY_CACHE_ID,
            "--description",
            "new",
        ],
    )
    .await;
    assert_eq!(updated.json()["provider"], "docker-hub");
    let r = only(&fake);
    assert_eq!(line(&r), format!("PATCH /v0/proxy-caches/{PROXY_CACHE_ID}"));
    assert_eq!(String::from_utf8_lossy(&r.body), r#"{"description":"new"}"#);
    fake.clear_requests();
    mgc(
        &fake,
        &[
            "proxy-caches",
            "update",
            PROXY_CACHE_ID,
            "--url",
            "https://r.example",
            "--access-secret",
            "s2",
        ],
    )
    .await
    .ok();
    assert_eq!(
        body(&only(&fake)),
        json!({"url": "https://r.example", "access_secret": "s2"})
    );

    fake.clear_requests();
    let check = mgc(
        &fake,
        &[
            "proxy-caches",
            "check",
            "--provider",
            "docker-hub",
            "--url",
            "https://hub.docker.com",
            "--access-key",
            "me",
            "--access-secret",
            "pw",
        ],
    )
    .await
    .json();
    assert_eq!(check["status"], "valid");
    let r = only(&fake);
    assert_eq!(line(&r), "POST /v0/proxy-caches/status");
    assert_eq!(body(&r)["credential_type"], "basic");
    assert_eq!(body(&r)["access_secret"], "pw");

    fake.clear_requests();
    let status = mgc(&fake, &["proxy-caches", "status", PROXY_CACHE_ID])
        .await
        .json();
    assert_eq!(status["status"], "connected");
    assert_eq!(
        only(&fake).path(),
        format!("/v0/proxy-caches/{PROXY_CACHE_ID}/status")
    );
    assert_eq!(
        mgc(&fake, &["proxy-caches", "list"]).await.json()[0]["name"],
        "cool_proxy"
    );
    assert_eq!(
        mgc(&fake, &["proxy-caches", "get", PROXY_CACHE_ID])
            .await
            .json()["url"],
        "https://hub.docker.com"
    );
    mgc(&fake, &["proxy-caches", "delete", PROXY_CACHE_ID])
        .await
        .ok();
    assert_eq!(fake.calls("deleteProxyCache"), 1);
    fake.assert_clean();
}

#[tokio::test]
async fn members() {
    let fake = MagaluFake::start().await;
    let listed = mgc(&fake, &["members", "list", REG, "--limit", "5"])
        .await
        .json();
    assert_eq!(
        (listed[0]["id"].as_str(), listed[0]["role"].as_str()),
        (Some(MEMBER_ID), Some("guest"))
    );
    mgc(
        &fake,
        &["members", "create", REG, USER_ID, "--role", "developer"],
    )
    .await
    .ok();
    mgc(&fake, &["members", "get", REG, MEMBER_ID]).await.ok();
    mgc(
        &fake,
        &["members", "update", REG, MEMBER_ID, "--role", "guest"],
    )
    .await
    .ok();
    mgc(&fake, &["members", "delete", REG, MEMBER_ID])
        .await
        .ok();
    let r = fake.requests();
    let base = format!("/v0/registries/{REG}/members");
    let lines: Vec<String> = r.iter().map(line).collect();
    assert_eq!(
        lines,
        [
            format!("GET {base}"),
            format!("POST {base}"),
            format!("GET {base}/{MEMBER_ID}"),
            format!("PATCH {base}/{MEMBER_ID}"),
            format!("DELETE {base}/{MEMBER_ID}"),
        ]
    );
    assert_eq!(param(&r[0], "_limit"), ["5"]);
    assert_eq!(
        body(&r[1]),
        json!({"user_id": USER_ID, "role": "developer"})
    );
    assert_eq!(body(&r[3]), json!({"role": "guest"}));
    fake.assert_clean();
}

#[tokio::test]
async fn scans() {
    let fake = MagaluFake::start().await;
    let image = format!("/v1/registries/{REG}/repositories/{REPO}/images/latest/scans");
    let scheduled = mgc(&fake, &["scans", "schedule", REG, REPO, "latest"])
        .await
        .json();
    assert_eq!(
        (scheduled["id"].as_str(), scheduled["status"].as_str()),
        (Some(SCAN_ID), Some("pending"))
    );
    let listed = mgc(
        &fake,
        &[
            "scans",
            "list",
            REG,
            REPO,
            "latest",
            "--status",
            "completed",
        ],
    )
    .await
    .json();
    assert_eq!(listed[0]["severity_summary"]["critical"], 1);
    let got = mgc(&fake, &["scans", "get", SCAN_ID]).await.json();
    assert_eq!(got["child_scans"][0]["architecture"], "amd64");
    mgc(&fake, &["scans", "stop", SCAN_ID]).await.silent();
    let vulns = mgc(
        &fake,
        &[
            "scans",
            "vulnerabilities",
            SCAN_ID,
            "--severity",
            "high",
            "--severity",
            "critical,low",
            "--fixable",
            "false",
        ],
    )
    .await
    .json();
    assert_eq!(vulns[0]["cve_id"], "CVE-2016-2781");
    let r = fake.requests();
    let lines: Vec<String> = r.iter().map(line).collect();
    assert_eq!(
        lines,
        [
            format!("POST {image}"),
            format!("GET {image}"),
            format!("GET /v1/scans/{SCAN_ID}"),
            format!("POST /v1/scans/{SCAN_ID}/stop"),
            format!("GET /v1/scans/{SCAN_ID}/vulnerabilities"),
        ]
    );
    assert_eq!(param(&r[1], "status"), ["completed"]);
    assert_eq!(param(&r[4], "severity"), ["high", "critical", "low"]);
    assert_eq!(param(&r[4], "fixable"), ["false"]);
    fake.assert_clean();
}
