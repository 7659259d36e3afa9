//! [`Client::ping`]: is there a registry at this address, and does it take
//! our credentials?

use http::{Method, StatusCode};
use registry_core::{Body, Error, ErrorKind};

use crate::client::{Client, error_from};

impl Client {
    /// `GET /v2/` through the client's whole stack: the scheme it was built
    /// with (the same for every operation), TLS settings, retries and the
    /// auth flow (a `401` with a challenge is answered with the client's
    /// credentials, as any other request).
    ///
    /// - `200` (any `2xx`): `Ok(())`;
    /// - `401` after authentication: [`ErrorKind::Unauthorized`] (no or
    ///   wrong credentials); `403`: [`ErrorKind::Denied`];
    /// - `404`: [`ErrorKind::NotFound`]: the server does not speak the
    ///   distribution API (not a registry);
    /// - anything else: the error for that status, with the registry's
    ///   error body.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), registry_core::Error> {
    /// let client = oci_dist::Client::new("registry.example.com")?;
    /// client.ping().await?;
    /// # Ok(()) }
    /// ```
    pub async fn ping(&self) -> Result<(), Error> {
        let url = self.url("/v2/");
        let what = format!("pinging {}", self.host());
        let req = self.request(Method::GET, &url, Body::empty())?;
        let resp = self.http().send(req).await.map_err(|e| e.context(&what))?;
        match resp.status() {
            s if s.is_success() => Ok(()),
            StatusCode::NOT_FOUND => Err(Error::new(
                ErrorKind::NotFound,
                format!(
                    "{what}: {url} answered 404: not a registry (no distribution API at this address)"
                ),
            )
            .with_status(StatusCode::NOT_FOUND)),
            _ => Err(error_from(resp, what).await),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use registry_core::credentials::{Credential, Static};
    use test_support::http::{FakeServer, response};

    /// A registry at `/v2/` that wants Basic `alice:pw`, and answers
    /// `status` to those credentials.
    async fn registry(status: u16) -> FakeServer {
        FakeServer::start(move |req| async move {
            if req.uri().path() != "/v2/" {
                return response(404, "");
            }
            // "alice:pw"
            let ok = req
                .headers()
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                == Some("Basic YWxpY2U6cHc=");
            if !ok {
                let mut r = response(
                    401,
                    r#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}"#,
                );
                r.headers_mut().insert(
                    "www-authenticate",
                    http::HeaderValue::from_static(r#"Basic realm="test""#),
                );
                return r;
            }
            response(status, "{}")
        })
        .await
    }

    fn client(url: &str, host: &str, password: &str) -> Client {
        Client::builder(url)
            .credentials(Static::new(Credential::basic("alice", password)).for_host(host))
            .build()
            .unwrap()
    }

    #[tokio::test]
    async fn ping_answers_through_the_auth_flow() {
        let fake = registry(200).await;
        client(&fake.url(), &fake.host(), "pw")
            .ping()
            .await
            .unwrap();
        // The challenge, then the request with the credentials.
        assert_eq!(fake.count("GET", "/v2/"), 2);

        let err = client(&fake.url(), &fake.host(), "wrong")
            .ping()
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unauthorized, "{err}");
        assert!(err.to_string().contains("pinging"), "{err}");
        assert!(!err.to_string().contains("wrong"), "{err}");

        let anonymous = Client::new(&fake.url()).unwrap().ping().await.unwrap_err();
        assert_eq!(anonymous.kind(), ErrorKind::Unauthorized, "{anonymous}");
    }

    #[tokio::test]
    async fn ping_tells_a_registry_from_another_server() {
        let not_a_registry = FakeServer::start(|_| async { response(404, "no such page") }).await;
        let err = Client::new(&not_a_registry.url())
            .unwrap()
            .ping()
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
        assert!(err.to_string().contains("not a registry"), "{err}");

        let denied = registry(403).await;
        let err = client(&denied.url(), &denied.host(), "pw")
            .ping()
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Denied, "{err}");
    }

    #[test]
    fn the_probe_follows_the_clients_scheme() {
        let c = Client::builder("localhost:5000")
            .plain_http(false)
            .build()
            .unwrap();
        assert_eq!(c.url("/v2/"), "https://localhost:5000/v2/");
    }
}
