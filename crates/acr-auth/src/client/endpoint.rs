//! [`Endpoint`]: the registry's login server, parsed once.

use registry_core::Error;
use url::Url;

/// Parses and normalises the endpoint: a login server with or without
/// scheme, no path.
/// The registry endpoint as [`AcrClient`] takes it: an [`Endpoint`], where
/// a path, query or fragment after the login server is ignored.
pub(super) fn parse_endpoint(endpoint: &str) -> Result<Url, Error> {
    let url = Endpoint::parse_inner(endpoint, false, false)?.url();
    Url::parse(&url).map_err(|e| {
        Error::invalid_input(format!("registry endpoint {endpoint:?} is not a URL")).with_source(e)
    })
}

/// An Azure Container Registry login server: `https://NAME.azurecr.io`
/// (`http://HOST[:PORT]` for test registries), parsed in one place for the
/// metadata client, the facade and `crctl acr --endpoint`.
///
/// The host is lowercased and a default port dropped, so
/// [`authority`](Self::authority) is what requests carry and what
/// credentials are restricted to.
///
/// ```
/// use acr_auth::Endpoint;
/// let e = Endpoint::parse("https://MyReg.azurecr.io:443/").unwrap();
/// assert_eq!(e.url(), "https://myreg.azurecr.io");
/// assert_eq!(e.authority(), "myreg.azurecr.io");
/// assert!(!e.is_plain_http());
/// assert_eq!(Endpoint::parse("myreg.azurecr.io").unwrap(), e);
/// assert!(Endpoint::parse_with("127.0.0.1:5000", true).unwrap().is_plain_http());
/// assert!(Endpoint::parse("https://myreg.azurecr.io/v2/").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    scheme: &'static str,
    authority: String,
}

impl Endpoint {
    /// Parses a login server: `https://HOST[:PORT]`, `http://HOST[:PORT]`,
    /// or a bare `HOST[:PORT]` (HTTPS). A trailing `/` is accepted; a path,
    /// query, fragment or credentials in the URL are refused
    /// ([`ErrorKind::InvalidInput`](registry_core::ErrorKind::InvalidInput)).
    pub fn parse(raw: &str) -> Result<Endpoint, Error> {
        Endpoint::parse_inner(raw, false, true)
    }

    /// As [`parse`](Self::parse), reading a bare `HOST[:PORT]` as plain HTTP
    /// when `plain_http` (an explicit `https://` stays HTTPS).
    pub fn parse_with(raw: &str, plain_http: bool) -> Result<Endpoint, Error> {
        Endpoint::parse_inner(raw, plain_http, true)
    }

    /// The one parser; `strict` refuses what follows the authority, else it
    /// is ignored.
    fn parse_inner(raw: &str, plain_http: bool, strict: bool) -> Result<Endpoint, Error> {
        let bad = |why: &str| Error::invalid_input(format!("registry endpoint {raw:?}: {why}"));
        let trimmed = raw.trim();
        let (scheme, rest) = match trimmed.split_once("://") {
            Some((s, rest)) => (s.to_ascii_lowercase(), rest),
            None if plain_http => ("http".to_owned(), trimmed),
            None => ("https".to_owned(), trimmed),
        };
        let scheme = match scheme.as_str() {
            "https" => "https",
            "http" => "http",
            _ => return Err(bad("not an https:// (or http://) URL")),
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        let authority = match rest.find(['/', '?', '#']) {
            Some(_) if strict => {
                return Err(bad(
                    "the login server is a URL without a path, e.g. https://NAME.azurecr.io",
                ));
            }
            Some(i) => &rest[..i],
            None => rest,
        };
        if authority.is_empty() {
            return Err(bad("no host"));
        }
        if authority.contains('@') {
            return Err(bad(
                "credentials do not belong in the URL; use -u/-p (a user name and password) or a token",
            ));
        }
        let parsed: http::uri::Authority = authority
            .parse()
            .map_err(|_| bad("not a valid host[:port]"))?;
        let host = parsed.host().to_ascii_lowercase();
        let default_port = if scheme == "https" { 443 } else { 80 };
        let authority = match parsed.port_u16() {
            Some(p) if p != default_port => format!("{host}:{p}"),
            _ => host,
        };
        Ok(Endpoint { scheme, authority })
    }

    /// `scheme://authority`, without a trailing `/`.
    pub fn url(&self) -> String {
        format!("{}://{}", self.scheme, self.authority)
    }

    /// `host[:port]` (no default port), as requests carry it.
    pub fn authority(&self) -> &str {
        &self.authority
    }

    /// Whether the registry is spoken to over plain HTTP.
    pub fn is_plain_http(&self) -> bool {
        self.scheme == "http"
    }
}
