//! The header and the realm check around a token: [`bearer`] and
//! [`checked_realm`].

use http::HeaderValue;
use url::Url;

use crate::auth::AuthContext;
use crate::error::Error;
use crate::secret::Secret;

/// The `Authorization: Bearer …` header for `token`, marked sensitive (so
/// that it is never logged).
///
/// ```
/// let h = registry_core::auth::bearer(&registry_core::Secret::new("t0k3n")).unwrap();
/// assert_eq!(h, "Bearer t0k3n");
/// assert!(h.is_sensitive());
/// ```
pub fn bearer(token: &Secret) -> Result<HeaderValue, Error> {
    let mut h = HeaderValue::from_str(&format!("Bearer {}", token.expose()))
        .map_err(|_| Error::protocol("the token contains characters not allowed in a header"))?;
    h.set_sensitive(true);
    Ok(h)
}

/// The `realm` of a Bearer challenge, checked before credentials go to it:
/// it must be an `https` URL, or `http` when the registry itself is spoken
/// to over plain HTTP.
pub fn checked_realm(ctx: &AuthContext, realm: &str) -> Result<Url, Error> {
    let url = Url::parse(realm).map_err(|e| {
        Error::protocol(format!(
            "the token realm {realm:?} of {} is not a URL",
            ctx.authority()
        ))
        .with_source(e)
    })?;
    let allowed = match url.scheme() {
        "https" => true,
        // Credentials go over plain HTTP only to a registry that is itself
        // spoken to over plain HTTP (a realm on a loopback host is no
        // exception: an HTTPS registry must not send them in clear text).
        "http" => ctx.is_plain_http(),
        _ => false,
    };
    if !allowed {
        let why = if ctx.is_plain_http() {
            "neither https nor http".to_owned()
        } else {
            format!("not https while the registry {} is", ctx.authority())
        };
        return Err(Error::protocol(format!(
            "refusing token realm {url}: {why}"
        )));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use http::{Method, Uri};

    use super::*;
    use crate::auth::Scopes;
    use crate::client::HttpClient;

    #[test]
    fn realms_must_be_https_unless_the_registry_is_plain_http() {
        let client = HttpClient::builder().build().unwrap();
        let ctx = |registry: &str| {
            AuthContext::new(
                Method::GET,
                registry.parse::<Uri>().unwrap(),
                Scopes::default(),
                client.clone(),
            )
        };
        let tls = ctx("https://registry.example/v2/");
        let plain = ctx("http://registry.example:5000/v2/");
        let ok = |c: &AuthContext, realm: &str| checked_realm(c, realm).is_ok();
        assert!(ok(&tls, "https://auth.example/token"));
        assert!(ok(&plain, "https://auth.example/token"));
        assert!(ok(&plain, "http://auth.example/token"));
        // An HTTPS registry never sends credentials in clear text, not
        // even to a loopback realm.
        assert!(!ok(&tls, "http://127.0.0.1:5001/token"));
        assert!(!ok(&tls, "http://localhost:5001/token"));
        let err = checked_realm(&tls, "http://auth.example/token").unwrap_err();
        assert!(err.to_string().contains("refusing token realm"), "{err}");
        assert!(err.to_string().contains("registry.example"), "{err}");
        // Only http(s), even for a plain-HTTP registry.
        assert!(!ok(&plain, "ftp://auth.example/token"));
        assert!(!ok(&plain, "file:///etc/passwd"));
        let err = checked_realm(&plain, "").unwrap_err();
        assert!(err.to_string().contains("is not a URL"), "{err}");
        assert_eq!(
            checked_realm(&tls, "https://Auth.Example/token")
                .unwrap()
                .as_str(),
            "https://auth.example/token"
        );
    }
}
