//! The bottom of the stack: a pooled hyper-util client over rustls, with
//! HTTP/1.1 and HTTP/2 chosen by ALPN.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use http::{Request, Response};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use rustls_pki_types::pem::PemObject;

use crate::body::Body;
use crate::error::{Error, ErrorKind};

/// TLS and connection settings for [`Connector`].
///
/// ```
/// use registry_core::connector::ConnectorOptions;
/// use std::time::Duration;
/// let connector = ConnectorOptions::new()
///     .connect_timeout(Some(Duration::from_secs(5)))
///     .build()
///     .unwrap();
/// # drop(connector);
/// ```
#[derive(Clone)]
pub struct ConnectorOptions {
    system_roots: bool,
    extra_roots: Vec<CertificateDer<'static>>,
    insecure_skip_verify: bool,
    connect_timeout: Option<Duration>,
    pool_idle_timeout: Duration,
    pool_max_idle_per_host: usize,
    http2: bool,
}

impl Default for ConnectorOptions {
    fn default() -> Self {
        ConnectorOptions {
            system_roots: true,
            extra_roots: Vec::new(),
            insecure_skip_verify: false,
            connect_timeout: Some(Duration::from_secs(30)),
            pool_idle_timeout: Duration::from_secs(90),
            pool_max_idle_per_host: 32,
            http2: true,
        }
    }
}

impl fmt::Debug for ConnectorOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectorOptions")
            .field("system_roots", &self.system_roots)
            .field("extra_roots", &self.extra_roots.len())
            .field("insecure_skip_verify", &self.insecure_skip_verify)
            .field("connect_timeout", &self.connect_timeout)
            .field("http2", &self.http2)
            .finish()
    }
}

impl ConnectorOptions {
    /// Defaults: system roots, verification on, 30 s connect timeout, HTTP/2 by ALPN.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether to trust the operating system's root certificates (default on).
    pub fn system_roots(mut self, yes: bool) -> Self {
        self.system_roots = yes;
        self
    }

    /// Adds trusted root certificates from PEM text.
    pub fn add_root_pem(mut self, pem: &[u8]) -> Result<Self, Error> {
        let mut found = 0;
        for cert in CertificateDer::pem_slice_iter(pem) {
            let cert = cert.map_err(|e| {
                Error::invalid_input("invalid PEM certificate").with_source(e.to_string())
            })?;
            self.extra_roots.push(cert);
            found += 1;
        }
        if found == 0 {
            return Err(Error::invalid_input("no certificate found in the PEM data"));
        }
        Ok(self)
    }

    /// Accepts any server certificate. For test registries only.
    pub fn insecure_skip_verify(mut self, yes: bool) -> Self {
        self.insecure_skip_verify = yes;
        self
    }

    /// Time allowed to establish a TCP connection (`None`: no limit).
    pub fn connect_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Whether to offer HTTP/2 by ALPN (default on).
    pub fn http2(mut self, yes: bool) -> Self {
        self.http2 = yes;
        self
    }

    /// How long idle pooled connections are kept.
    pub fn pool_idle_timeout(mut self, timeout: Duration) -> Self {
        self.pool_idle_timeout = timeout;
        self
    }

    /// Builds the connector.
    pub fn build(self) -> Result<Connector, Error> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::new(ErrorKind::Transport, "TLS setup failed").with_source(e))?;
        let mut tls = if self.insecure_skip_verify {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(NoVerifier(provider)))
                .with_no_client_auth()
        } else {
            let mut roots = RootCertStore::empty();
            if self.system_roots {
                let native = rustls_native_certs::load_native_certs();
                for cert in native.certs {
                    // A broken system certificate must not stop us; skip it.
                    let _ = roots.add(cert);
                }
            }
            for cert in &self.extra_roots {
                roots.add(cert.clone()).map_err(|e| {
                    Error::invalid_input("unusable root certificate").with_source(e)
                })?;
            }
            builder.with_root_certificates(roots).with_no_client_auth()
        };
        // hyper-rustls sets the ALPN protocols (h2, http/1.1) itself.
        tls.alpn_protocols.clear();

        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(self.connect_timeout);
        http.set_keepalive(Some(Duration::from_secs(60)));

        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1();
        let https = if self.http2 {
            https.enable_http2().wrap_connector(http)
        } else {
            https.wrap_connector(http)
        };
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(self.pool_idle_timeout)
            .pool_max_idle_per_host(self.pool_max_idle_per_host)
            .build(https);
        Ok(Connector { client })
    }
}

/// A pooled HTTP(S) client as a tower service. Cheap to clone: clones share
/// the connection pool.
#[derive(Clone)]
pub struct Connector {
    client: Client<HttpsConnector<HttpConnector>, Body>,
}

impl fmt::Debug for Connector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connector").finish_non_exhaustive()
    }
}

impl tower::Service<Request<Body>> for Connector {
    type Response = Response<Body>;
    type Error = Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, Error>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        let fut = self.client.request(req);
        Box::pin(async move {
            match fut.await {
                Ok(resp) => Ok(resp.map(Body::from)),
                Err(e) => Err(classify(e)),
            }
        })
    }
}

fn classify(e: hyper_util::client::legacy::Error) -> Error {
    use std::error::Error as _;
    let connect = e.is_connect();
    let mut source = e.source();
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::TimedOut
        {
            return Error::new(ErrorKind::Timeout, "connecting timed out").with_source(e);
        }
        // hyper-util's `ConnectError` says "dns error" for a failed lookup;
        // a temporary resolver failure (EAI_AGAIN) is worth retrying, a
        // name that does not exist is not.
        if s.to_string() == "dns error" {
            let detail = s.source().map(|c| c.to_string()).unwrap_or_default();
            if !detail.contains("Temporary failure") && !detail.contains("try again") {
                return Error::new(
                    ErrorKind::UnknownHost,
                    "the registry's host name does not resolve",
                )
                .with_source(e);
            }
        }
        // hyper-rustls checks the name before connecting: a name that
        // cannot be a DNS name never will be.
        if s.is::<rustls::pki_types::InvalidDnsNameError>() {
            return Error::new(
                ErrorKind::UnknownHost,
                "the registry's host name is not a valid DNS name",
            )
            .with_source(e);
        }
        if is_rustls_error(s) {
            return Error::new(ErrorKind::Tls, "the TLS handshake with the registry failed")
                .with_source(e);
        }
        source = s.source();
    }
    if e.to_string().contains("timed out") {
        return Error::new(ErrorKind::Timeout, "connecting timed out").with_source(e);
    }
    let msg = if connect {
        "connecting to the registry failed"
    } else {
        "the HTTP request failed"
    };
    Error::transport(msg, e)
}

/// Whether `e` is, or wraps, a rustls error. hyper-rustls hands them over
/// inside (nested) `io::Error`s, whose `source()` skips the wrapped error,
/// so look inside those too.
fn is_rustls_error(e: &(dyn std::error::Error + 'static)) -> bool {
    if e.is::<rustls::Error>() {
        return true;
    }
    match e
        .downcast_ref::<std::io::Error>()
        .and_then(|io| io.get_ref())
    {
        Some(inner) => is_rustls_error(inner),
        None => false,
    }
}

#[derive(Debug)]
struct NoVerifier(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for NoVerifier {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
