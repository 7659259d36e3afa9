//! `crctl mgc …`: the built binary against the spec-checking fake Magalu API
//! (`test_support::fake_mgc`) over real HTTP on 127.0.0.1.

#[path = "common/mgc_cli.rs"]
mod cli;

#[path = "mgc/behaviour.rs"]
mod behaviour;
#[path = "mgc/management.rs"]
mod management;
#[path = "mgc/resources.rs"]
mod resources;

use serde_json::{Value, json};
use test_support::fake_mgc::spec::{REGISTRY_ID, REPOSITORY_ID};

/// The example registry and repository ids.
const REG: &str = REGISTRY_ID;
const REPO: &str = REPOSITORY_ID;

/// A UUID numbered `i`.
fn uuid(i: usize) -> String {
    format!("00000000-0000-4000-8000-{i:012}")
}

/// A registry as the API lists it.
fn registry(i: usize) -> Value {
    json!({
        "id": uuid(i), "name": format!("reg{i}"), "storage_usage_bytes": i * 100,
        "created_at": "2024-05-15T19:56:47Z", "updated_at": "2024-05-16T10:00:00Z"
    })
}
