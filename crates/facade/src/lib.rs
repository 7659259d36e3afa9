//! One client for the whole container-registry stack: OCI registries, Magalu Cloud and Azure Container Registry.
