//! Sending one API call: URL, headers, body, and turning the response into a
//! value or an [`Error`].

use bytes::Bytes;
use http::header::{ACCEPT, CONTENT_TYPE, USER_AGENT};
use http::{HeaderName, HeaderValue, Method, Request};
use registry_core::Body;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::client::MgcClient;
use crate::error::{Error, ErrorKind};

/// Largest response body read.
const MAX_BODY: usize = 32 * 1024 * 1024;

/// The request header carrying our request id.
const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// One call of an operation of the spec.
#[derive(Debug)]
pub(crate) struct Call {
    op: &'static str,
    method: Method,
    path: String,
    query: Vec<(&'static str, String)>,
    body: Option<Vec<u8>>,
}

impl Call {
    /// A call of `op` (the `operationId`): `method` on `path` (already
    /// encoded, starting with `/v0` or `/v1`).
    pub(crate) fn new(op: &'static str, method: Method, path: String) -> Call {
        Call {
            op,
            method,
            path,
            query: Vec::new(),
            body: None,
        }
    }

    /// Appends query parameters (repeated names allowed).
    pub(crate) fn query(mut self, q: Vec<(&'static str, String)>) -> Call {
        self.query.extend(q);
        self
    }

    /// Sets a JSON body.
    pub(crate) fn json(mut self, body: &impl Serialize) -> Result<Call, Error> {
        let bytes = serde_json::to_vec(body).map_err(|e| {
            Error::invalid_input(self.op, "could not encode the request body").with_source(e)
        })?;
        self.body = Some(bytes);
        Ok(self)
    }
}

impl MgcClient {
    /// Sends `call`; a 2xx answer gives its body (and the request id sent),
    /// anything else an [`Error`].
    pub(crate) async fn send(&self, call: Call) -> Result<(Bytes, String), Error> {
        let op = call.op;
        let request_id = self.next_request_id().map_err(|e| e.with_operation(op))?;
        let rid = request_id.to_str().unwrap_or_default().to_owned();
        let mut url = format!("{}{}", self.inner.base_url, call.path);
        if !call.query.is_empty() {
            let mut ser = url::form_urlencoded::Serializer::new(String::new());
            url.push('?');
            url.push_str(&ser.extend_pairs(&call.query).finish());
        }
        let (auth_name, auth_value) = self
            .inner
            .credential
            .header()
            .map_err(|e| e.with_operation(op))?;
        let mut builder = Request::builder()
            .method(call.method.clone())
            .uri(&url)
            .header(USER_AGENT, self.inner.user_agent.clone())
            .header(ACCEPT, HeaderValue::from_static("application/json"))
            .header(X_REQUEST_ID, request_id)
            .header(auth_name, auth_value);
        let body = match call.body {
            Some(b) => {
                builder =
                    builder.header(CONTENT_TYPE, HeaderValue::from_static("application/json"));
                Body::full(b)
            }
            None => Body::empty(),
        };
        let req = builder.body(body).map_err(|e| {
            Error::invalid_input(op, format!("could not build a request for {url}"))
                .with_source(e)
                .with_request_id(&rid)
        })?;
        tracing::debug!(operation = op, method = %call.method, path = %call.path, request_id = %rid, "mgc api call");
        let resp = self
            .inner
            .http
            .send(req)
            .await
            .map_err(|e| Error::from_transport(op, e).with_request_id(&rid))?;
        let (parts, body) = resp.into_parts();
        let bytes = body.collect_bytes(MAX_BODY).await.map_err(|e| {
            Error::from_transport(op, e)
                .with_status(parts.status)
                .with_request_id(&rid)
        })?;
        if parts.status.is_success() {
            Ok((bytes, rid))
        } else {
            let err = Error::from_response(op, parts.status, &parts.headers, &bytes, &rid);
            tracing::debug!(operation = op, status = parts.status.as_u16(), request_id = %rid, slug = ?err.slug(), "mgc api error");
            Err(err)
        }
    }

    /// Sends `call` and decodes its JSON answer.
    pub(crate) async fn json<T: DeserializeOwned>(&self, call: Call) -> Result<T, Error> {
        let op = call.op;
        let (bytes, rid) = self.send(call).await?;
        serde_json::from_slice(&bytes).map_err(|e| {
            // Never echo the body: it may hold credentials.
            Error::new(
                ErrorKind::Protocol,
                format!("the response is not the documented JSON ({e})"),
            )
            .with_operation(op)
            .with_request_id(rid)
        })
    }

    /// Sends `call`, ignoring any answer body (204 and friends).
    pub(crate) async fn empty(&self, call: Call) -> Result<(), Error> {
        self.send(call).await.map(drop)
    }
}
