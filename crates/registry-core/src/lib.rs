//! HTTP transport for container registries: a tower middleware stack (retry, auth, redirects, timeouts, tracing) over hyper and rustls.
