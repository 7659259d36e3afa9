//! Magalu Cloud Container Registry management API client (every operation of the service OpenAPI spec).
