//! The grant rules both fakes' token endpoints follow, as ACR documents
//! them (Azure/acr `docs/AAD-OAuth.md`, data-plane spec 2021-07-01):
//!
//! * `POST /oauth2/exchange`: `grant_type` is `access_token` (the AAD
//!   `access_token` is mandatory), `refresh_token` (the AAD `refresh_token`
//!   is mandatory) or `access_token_refresh_token` (both are); `tenant` is
//!   optional and, when given, must be the credentials' tenant.
//! * `POST /oauth2/token`: `grant_type` is `refresh_token` or `password`
//!   with an ACR `refresh_token`; `password` with an empty `refresh_token`
//!   is anonymous access. `scope` may be given several times and each may
//!   hold several space-separated scopes.

use crate::http::RecordedRequest;

/// A decoded `application/x-www-form-urlencoded` body, fields in order.
pub(super) struct Form(Vec<(String, String)>);

impl Form {
    pub(super) fn parse(body: &[u8]) -> Form {
        Form(url::form_urlencoded::parse(body).into_owned().collect())
    }

    /// The first value of `key`.
    pub(super) fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Every scope asked, over all `scope` fields, space-separated.
    pub(super) fn scopes(&self) -> String {
        self.0
            .iter()
            .filter(|(k, _)| k == "scope")
            .flat_map(|(_, v)| v.split_whitespace())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// The form fields of a recorded request, in the order sent (repeated
/// fields kept).
///
/// ```
/// use test_support::fake_acr::form_fields;
/// use test_support::http::RecordedRequest;
/// let r = RecordedRequest {
///     method: http::Method::POST,
///     uri: "/oauth2/token".parse().unwrap(),
///     headers: http::HeaderMap::new(),
///     body: bytes::Bytes::from_static(b"grant_type=refresh_token&scope=a&scope=b"),
/// };
/// assert_eq!(
///     form_fields(&r),
///     [("grant_type", "refresh_token"), ("scope", "a"), ("scope", "b")]
///         .map(|(k, v)| (k.to_owned(), v.to_owned()))
/// );
/// ```
pub fn form_fields(r: &RecordedRequest) -> Vec<(String, String)> {
    Form::parse(&r.body).0
}

/// The AAD credentials an exchange accepts.
pub(super) struct Accepted<'a> {
    pub(super) access_token: Option<&'a str>,
    pub(super) refresh_token: Option<&'a str>,
    pub(super) tenant: Option<&'a str>,
}

/// Why an exchange is refused: status, ACR error code, message.
pub(super) type Refusal = (u16, &'static str, &'static str);

/// Checks an `/oauth2/exchange` form against what is accepted.
pub(super) fn check_exchange(f: &Form, ok: &Accepted<'_>) -> Result<(), Refusal> {
    let (needs_access, needs_refresh) = match f.get("grant_type") {
        Some("access_token") => (true, false),
        Some("refresh_token") => (false, true),
        Some("access_token_refresh_token") => (true, true),
        _ => return Err((400, "BAD_REQUEST", "unsupported grant")),
    };
    let given = |k: &str| f.get(k).filter(|v| !v.is_empty());
    if needs_access && given("access_token").is_none() {
        return Err((400, "BAD_REQUEST", "access_token is required by this grant"));
    }
    if needs_refresh && given("refresh_token").is_none() {
        return Err((
            400,
            "BAD_REQUEST",
            "refresh_token is required by this grant",
        ));
    }
    if needs_access && (ok.access_token.is_none() || given("access_token") != ok.access_token) {
        return Err((401, "UNAUTHORIZED", "the AAD access token is not valid"));
    }
    if needs_refresh && (ok.refresh_token.is_none() || given("refresh_token") != ok.refresh_token) {
        return Err((401, "UNAUTHORIZED", "the AAD refresh token is not valid"));
    }
    if let (Some(sent), Some(tenant)) = (f.get("tenant"), ok.tenant)
        && sent != tenant
    {
        return Err((
            401,
            "UNAUTHORIZED",
            "the tenant is not the AAD credentials' tenant",
        ));
    }
    Ok(())
}

/// What an `/oauth2/token` form asks for.
pub(super) enum TokenGrant<'a> {
    /// An access token for this ACR refresh token (`refresh_token`, or
    /// `password` with a refresh token).
    Refresh(&'a str),
    /// Anonymous access (`password`, empty `refresh_token`).
    Anonymous,
}

/// Reads an `/oauth2/token` form's grant.
pub(super) fn token_grant(f: &Form) -> Result<TokenGrant<'_>, Refusal> {
    match (f.get("grant_type"), f.get("refresh_token")) {
        (Some("password"), Some("")) => Ok(TokenGrant::Anonymous),
        (Some("refresh_token" | "password"), Some(r)) if !r.is_empty() => {
            Ok(TokenGrant::Refresh(r))
        }
        (Some("refresh_token" | "password"), _) => {
            Err((400, "BAD_REQUEST", "refresh_token is required"))
        }
        _ => Err((400, "BAD_REQUEST", "unsupported grant")),
    }
}
