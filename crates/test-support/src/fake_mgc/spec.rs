//! The 32 operations of the service's OpenAPI spec, as the
//! fake checks and answers them: method, path template, query parameters,
//! request body schema, success status and the spec's example answer.

use serde_json::{Value, json};

/// A query parameter the spec defines, with its format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Param {
    /// `_limit`: integer >= 1.
    Limit,
    /// `_offset`: integer >= 0.
    Offset,
    /// `_sort`: `^[\w-]+:(asc|desc)(,[\w-]+:(asc|desc))*$`.
    Sort,
    /// `name`: string.
    Name,
    /// `expand`: array of strings, repeated.
    Expand,
    /// `status`: ScanStatus.
    Status,
    /// `severity`: array of VulnerabilitySeverity, repeated (form, explode).
    Severity,
    /// `package_name`: string.
    PackageName,
    /// `cve_id`: string.
    CveId,
    /// `fixable`: boolean.
    Fixable,
}

impl Param {
    /// The name on the wire, e.g. `_limit`.
    pub fn wire(self) -> &'static str {
        match self {
            Param::Limit => "_limit",
            Param::Offset => "_offset",
            Param::Sort => "_sort",
            Param::Name => "name",
            Param::Expand => "expand",
            Param::Status => "status",
            Param::Severity => "severity",
            Param::PackageName => "package_name",
            Param::CveId => "cve_id",
            Param::Fixable => "fixable",
        }
    }

    /// Whether the parameter is an array (sent repeated).
    pub fn repeatable(self) -> bool {
        matches!(self, Param::Expand | Param::Severity)
    }
}

/// The type of a request body field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// A string.
    Str,
    /// A string in UUID format.
    Uuid,
    /// `developer` or `guest`.
    Role,
    /// Lowercase letters and digits, at most 63 (the documented name rule).
    Name,
}

/// A JSON request body: required and optional properties.
#[derive(Debug, Clone, Copy)]
pub struct BodySpec {
    /// Properties that must be present.
    pub required: &'static [(&'static str, Field)],
    /// Properties that may be present.
    pub optional: &'static [(&'static str, Field)],
}

/// What a successful call answers.
#[derive(Debug, Clone, Copy)]
pub enum Answer {
    /// One JSON object.
    Object(fn() -> Value),
    /// A `{results, meta}` page built from a list of items (the example item
    /// unless a test sets its own).
    List(fn() -> Value),
    /// Like `List`, plus `goal.total` (repositories).
    ListWithGoal(fn() -> Value),
    /// No body.
    NoContent,
}

/// One operation of the spec.
#[derive(Debug, Clone, Copy)]
pub struct Op {
    /// The `operationId`.
    pub id: &'static str,
    /// The HTTP method.
    pub method: &'static str,
    /// The path template, e.g. `/v0/registries/{registry_id}`.
    pub path: &'static str,
    /// The query parameters it takes.
    pub params: &'static [Param],
    /// Its JSON request body, if any.
    pub body: Option<BodySpec>,
    /// The success status.
    pub status: u16,
    /// What it answers on success.
    pub answer: Answer,
}

use Param::*;

const PAGING: &[Param] = &[Limit, Offset, Sort];
const PAGING_NAME: &[Param] = &[Limit, Offset, Sort, Name];

/// The 32 operations of the spec.
#[rustfmt::skip]
pub const OPS: &[Op] = &[
    Op { id: "getCredentials", method: "GET", path: "/v0/credentials", params: &[], body: None, status: 200, answer: Answer::Object(credentials) },
    Op { id: "resetPassword", method: "POST", path: "/v0/credentials/password", params: &[], body: None, status: 200, answer: Answer::Object(credentials) },
    Op {
        id: "createRegistry", method: "POST", path: "/v0/registries", params: &[],
        body: Some(BodySpec { required: &[("name", Field::Name)], optional: &[("proxy_cache_id", Field::Uuid)] }),
        status: 201, answer: Answer::Object(create_registry),
    },
    Op { id: "getRegistries", method: "GET", path: "/v0/registries", params: PAGING_NAME, body: None, status: 200, answer: Answer::List(registry) },
    Op { id: "getRegistry", method: "GET", path: "/v0/registries/{registry_id}", params: &[], body: None, status: 200, answer: Answer::Object(registry) },
    Op { id: "deleteRegistry", method: "DELETE", path: "/v0/registries/{registry_id}", params: &[], body: None, status: 204, answer: Answer::NoContent },
    Op {
        id: "createProxyCache", method: "POST", path: "/v0/proxy-caches", params: &[],
        body: Some(BodySpec {
            required: &[("name", Field::Name), ("provider", Field::Str), ("url", Field::Str)],
            optional: &[("access_key", Field::Str), ("access_secret", Field::Str), ("description", Field::Str)],
        }),
        status: 201, answer: Answer::Object(create_proxy_cache),
    },
    Op { id: "getProxyCaches", method: "GET", path: "/v0/proxy-caches", params: PAGING, body: None, status: 200, answer: Answer::List(proxy_cache) },
    Op { id: "getProxyCache", method: "GET", path: "/v0/proxy-caches/{proxy_cache_id}", params: &[], body: None, status: 200, answer: Answer::Object(proxy_cache_detailed) },
    Op {
        id: "updateProxyCache", method: "PATCH", path: "/v0/proxy-caches/{proxy_cache_id}", params: &[],
        body: Some(BodySpec {
            required: &[],
            optional: &[("name", Field::Name), ("url", Field::Str), ("access_key", Field::Str), ("access_secret", Field::Str), ("description", Field::Str)],
        }),
        status: 200, answer: Answer::Object(proxy_cache),
    },
    Op { id: "deleteProxyCache", method: "DELETE", path: "/v0/proxy-caches/{proxy_cache_id}", params: &[], body: None, status: 204, answer: Answer::NoContent },
    Op {
        id: "checkProxyCacheCredentialStatus", method: "POST", path: "/v0/proxy-caches/status", params: &[],
        body: Some(BodySpec {
            required: &[("provider", Field::Str), ("url", Field::Str), ("credential_type", Field::Str), ("access_key", Field::Str), ("access_secret", Field::Str)],
            optional: &[],
        }),
        status: 200, answer: Answer::Object(credential_status),
    },
    Op { id: "getProxyCacheStatus", method: "GET", path: "/v0/proxy-caches/{proxy_cache_id}/status", params: &[], body: None, status: 200, answer: Answer::Object(proxy_cache_status) },
    Op { id: "createUser", method: "POST", path: "/v0/users", params: &[], body: None, status: 201, answer: Answer::Object(user) },
    Op { id: "getUser", method: "GET", path: "/v0/users", params: &[], body: None, status: 200, answer: Answer::Object(user) },
    Op { id: "deleteUser", method: "DELETE", path: "/v0/users/{user_id}", params: &[], body: None, status: 204, answer: Answer::NoContent },
    Op {
        id: "addRegistryMember", method: "POST", path: "/v0/registries/{registry_id}/members", params: &[],
        body: Some(BodySpec { required: &[("user_id", Field::Uuid)], optional: &[("role", Field::Role)] }),
        status: 201, answer: Answer::Object(member),
    },
    Op { id: "getRegistryMembers", method: "GET", path: "/v0/registries/{registry_id}/members", params: PAGING, body: None, status: 200, answer: Answer::List(member) },
    Op { id: "getRegistryMember", method: "GET", path: "/v0/registries/{registry_id}/members/{member_id}", params: &[], body: None, status: 200, answer: Answer::Object(member) },
    Op {
        id: "updateRegistryMember", method: "PATCH", path: "/v0/registries/{registry_id}/members/{member_id}", params: &[],
        body: Some(BodySpec { required: &[("role", Field::Role)], optional: &[] }),
        status: 200, answer: Answer::Object(member),
    },
    Op { id: "deleteRegistryMember", method: "DELETE", path: "/v0/registries/{registry_id}/members/{member_id}", params: &[], body: None, status: 204, answer: Answer::NoContent },
    Op { id: "getRepositoriesV1", method: "GET", path: "/v1/registries/{registry_id}/repositories", params: PAGING_NAME, body: None, status: 200, answer: Answer::ListWithGoal(repository) },
    // The spec documents 201 for this GET.
    Op { id: "getRepositoryV1", method: "GET", path: "/v1/registries/{registry_id}/repositories/{repository_id}", params: &[], body: None, status: 201, answer: Answer::Object(repository) },
    Op { id: "deleteRepositoryV1", method: "DELETE", path: "/v1/registries/{registry_id}/repositories/{repository_id}", params: &[], body: None, status: 204, answer: Answer::NoContent },
    Op { id: "getImagesV1", method: "GET", path: "/v1/registries/{registry_id}/repositories/{repository_id}/images", params: &[Limit, Offset, Sort, Expand, Name], body: None, status: 200, answer: Answer::List(image) },
    Op { id: "deleteImageV1", method: "DELETE", path: "/v1/registries/{registry_id}/repositories/{repository_id}/images/{digest_or_tag}", params: &[], body: None, status: 204, answer: Answer::NoContent },
    Op { id: "getImageV1", method: "GET", path: "/v1/registries/{registry_id}/repositories/{repository_id}/images/{digest_or_tag}", params: &[], body: None, status: 200, answer: Answer::Object(image) },
    Op { id: "scheduleImageScan", method: "POST", path: "/v1/registries/{registry_id}/repositories/{repository_id}/images/{digest_or_tag}/scans", params: &[], body: None, status: 202, answer: Answer::Object(scan_schedule) },
    Op { id: "getImageScans", method: "GET", path: "/v1/registries/{registry_id}/repositories/{repository_id}/images/{digest_or_tag}/scans", params: &[Limit, Offset, Sort, Status], body: None, status: 200, answer: Answer::List(scan) },
    Op { id: "getImageScan", method: "GET", path: "/v1/scans/{scan_id}", params: &[], body: None, status: 200, answer: Answer::Object(scan) },
    Op { id: "getImageScanVulnerabilities", method: "GET", path: "/v1/scans/{scan_id}/vulnerabilities", params: &[Limit, Offset, Sort, Severity, PackageName, CveId, Fixable], body: None, status: 200, answer: Answer::List(vulnerability) },
    Op { id: "stopImageScan", method: "POST", path: "/v1/scans/{scan_id}/stop", params: &[], body: None, status: 204, answer: Answer::NoContent },
];

/// The operation with this id.
pub fn op(id: &str) -> &'static Op {
    OPS.iter()
        .find(|o| o.id == id)
        .unwrap_or_else(|| panic!("no operation {id}"))
}

// The spec's examples.

/// The example registry id.
pub const REGISTRY_ID: &str = "0c6bbd87-881a-4bf8-b3f6-4ff3ceacb42c";
/// The example repository id.
pub const REPOSITORY_ID: &str = "ef376048-a0f7-446c-826b-1d5cb3e5a5b0";
/// The example proxy cache id.
pub const PROXY_CACHE_ID: &str = "3a1b8f76-1238-41d8-946d-b69f231d91e4";
/// The example user id (also the credentials' username).
pub const USER_ID: &str = "e3d49354-35d7-4565-b634-65d8b86aa594";
/// The example member id.
pub const MEMBER_ID: &str = "ef376048-a0f7-446c-826b-1d5cb3e5a5b0";
/// The example scan id.
pub const SCAN_ID: &str = "00000000-0000-0000-0000-000000000000";
/// The example image digest.
pub const DIGEST: &str = "sha256:aef9ff594b36575be6248901a4e5a9bad031f3e0fd42c33a6d2bd501dde5e955";

/// `CredentialsResponse`.
pub fn credentials() -> Value {
    json!({"username": "e3d49354-35d7-4565-b634-65d8b86aa594", "password": "62kWa168QL!d4IVwN6wTfTYFv63=Sc1D", "email": "janedoe@email.com"})
}

/// `CreateRegistryResponse`.
pub fn create_registry() -> Value {
    json!({"id": REGISTRY_ID, "name": "cool_registry"})
}

/// `RegistryResponse`.
pub fn registry() -> Value {
    json!({
        "id": REGISTRY_ID, "name": "cool_registry", "storage_usage_bytes": 12345,
        "created_at": "2024-05-15T19:56:47Z", "updated_at": "2024-05-15T19:56:47Z",
        "proxy_cache_id": PROXY_CACHE_ID
    })
}

/// `CreateProxyCacheResponse`.
pub fn create_proxy_cache() -> Value {
    json!({"id": "0c6bbd87-881a-4bf8-b3f6-4ff3ceacb42c", "name": "cool_registry_proxy"})
}

/// `ProxyCacheResponse`.
pub fn proxy_cache() -> Value {
    json!({
        "id": "0c6bbd87-881a-4bf8-b3f6-4ff3ceacb42c", "name": "cool_proxy", "provider": "docker-hub",
        "url": "https://hub.docker.com", "created_at": "2024-05-15T19:56:47Z",
        "updated_at": "2024-05-15T19:56:47Z", "description": "Proxy cache for Docker Hub"
    })
}

/// `ProxyCacheDetailedResponse`.
pub fn proxy_cache_detailed() -> Value {
    proxy_cache()
}

/// `ProxyCacheCredentialStatusResponse`.
pub fn credential_status() -> Value {
    json!({"status": "valid", "message": "Proxy cache credentials are valid"})
}

/// `ProxyCacheStatusResponse`.
pub fn proxy_cache_status() -> Value {
    json!({"status": "connected", "message": "Proxy cache configuration is active."})
}

/// `UserResponse`.
pub fn user() -> Value {
    json!({"id": USER_ID, "username": USER_ID, "created_at": "2024-05-15T19:56:47Z"})
}

/// `MemberResponse`.
pub fn member() -> Value {
    json!({
        "id": MEMBER_ID, "registry_id": REGISTRY_ID, "user_id": USER_ID, "role": "guest",
        "created_at": "2024-05-20T14:30:00Z", "updated_at": "2024-05-20T14:30:00Z"
    })
}

/// `RepositoryV1Response`.
pub fn repository() -> Value {
    json!({
        "id": REPOSITORY_ID, "registry_name": "cool_registry", "name": "alpine", "image_count": 2,
        "created_at": "2024-05-15T19:56:47Z", "updated_at": "2024-05-15T19:56:47Z"
    })
}

/// `ImageResponse` (every `expand` field included).
pub fn image() -> Value {
    json!({
        "digest": DIGEST, "size_bytes": 3552429,
        "pushed_at": "2024-05-15T19:56:47Z", "pulled_at": "2024-05-15T19:56:47Z",
        "tags": ["latest"],
        "manifest_media_type": "application/vnd.docker.distribution.manifest.v2+json",
        "media_type": "application/vnd.docker.container.image.v1+json",
        "tags_details": [{"name": "latest", "pushed_at": "2024-05-15T19:56:47Z", "pulled_at": "2024-05-15T19:56:47Z", "signed": false}],
        "extra_attr": {}
    })
}

/// `ImageScanScheduleResponse`.
pub fn scan_schedule() -> Value {
    json!({
        "id": SCAN_ID, "digest": "sha256:000000000", "input_tag": "latest",
        "registry_id": SCAN_ID, "repository_id": SCAN_ID, "status": "pending",
        "created_at": "2024-05-15T19:56:47Z", "updated_at": "2024-05-15T19:56:47Z"
    })
}

/// `ImageScanResponse` with one child scan.
pub fn scan() -> Value {
    json!({
        "id": SCAN_ID, "digest": "sha256:000000000", "input_tag": "latest", "status": "completed",
        "os": "linux", "architecture": "arm64",
        "severity_summary": {"total": 10, "low": 3, "medium": 3, "high": 3, "critical": 1, "fixable": 6},
        "created_at": "2024-05-15T19:56:47Z", "updated_at": "2024-05-15T19:57:47Z", "finished_at": "2024-05-15T19:57:47Z",
        "child_scans": [{
            "id": "11111111-1111-1111-1111-111111111111", "digest": "sha256:111111111", "status": "completed",
            "os": "linux", "architecture": "amd64",
            "severity_summary": {"total": 4, "low": 1, "medium": 1, "high": 1, "critical": 1, "fixable": 2},
            "created_at": "2024-05-15T19:56:47Z", "updated_at": "2024-05-15T19:57:47Z", "finished_at": "2024-05-15T19:57:47Z"
        }]
    })
}

/// `VulnerabilityResponse`.
pub fn vulnerability() -> Value {
    json!({
        "cve_id": "CVE-2016-2781", "severity": "low",
        "cvss": {
            "preferred": {"score": 6.5, "vector": "CVSS:3.0/AV:L/AC:L/PR:L/UI:N/S:C/C:N/I:H/A:N"},
            "max": {"source": "redhat", "score": 8.6, "vector": "CVSS:3.0/AV:L/AC:L/PR:N/UI:R/S:C/C:H/I:H/A:H"},
            "by_source": {
                "nvd": {"score": 6.5, "vector": "CVSS:3.0/AV:L/AC:L/PR:L/UI:N/S:C/C:N/I:H/A:N"},
                "redhat": {"score": 8.6, "vector": "CVSS:3.0/AV:L/AC:L/PR:N/UI:R/S:C/C:H/I:H/A:H"}
            }
        },
        "is_allowlisted": false, "package_name": "coreutils", "current_version": "9.4-3ubuntu6.1",
        "fixed_version": null, "fixable": false, "target_path": "/usr/bin/chroot",
        "description": "Example vulnerability description.",
        "links": ["https://avd.aquasec.com/nvd/cve-2016-2781"]
    })
}

/// The spec's error example for a status.
pub fn error_body(status: u16) -> Value {
    let (slug, message) = match status {
        400 => ("bad_request", "invalid param"),
        401 => ("unauthorized", "invalid email on token"),
        403 => ("forbidden", "user not allowed"),
        404 => ("not_found", "error when getting resource: not found"),
        409 => ("conflict", "resource already exists"),
        429 => ("too_many_requests", "too many requests"),
        _ => (
            "internal_server_error",
            "error when getting resource: timeout",
        ),
    };
    json!({"slug": slug, "message": message, "detail": {}})
}
