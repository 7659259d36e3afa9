//! Test support: real docker-registry instances (anonymous, htpasswd, token auth), a token server, and fake HTTP servers.
