//! Azure Container Registry: AAD token exchange as a registry-core Authenticator, and the ACR metadata API (acr/v1).
