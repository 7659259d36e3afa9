//! The fake Magalu API lives in `test_support::fake_mgc` (shared with the
//! facade and crctl tests); this adds a client for it.

#![allow(dead_code, unused_imports)]

pub use test_support::fake_mgc::*;

/// A client for a [`MagaluFake`].
pub trait FakeClient {
    /// An `mgc_api` client for this fake with the expected API key.
    fn client(&self) -> mgc_api::MgcClient;
}

impl FakeClient for MagaluFake {
    fn client(&self) -> mgc_api::MgcClient {
        mgc_api::MgcClient::builder()
            .base_url(self.url())
            .api_key(API_KEY)
            .build()
            .unwrap()
    }
}

/// The spec's example ids (`spec::REGISTRY_ID`…), parsed into their types.
pub mod ids {
    use super::spec;
    use mgc_api::{MemberId, ProxyCacheId, RegistryId, RepositoryId, ScanId, UserId};

    /// `spec::REGISTRY_ID`.
    pub fn registry_id() -> RegistryId {
        spec::REGISTRY_ID.parse().unwrap()
    }

    /// `spec::REPOSITORY_ID`.
    pub fn repository_id() -> RepositoryId {
        spec::REPOSITORY_ID.parse().unwrap()
    }

    /// `spec::PROXY_CACHE_ID`.
    pub fn proxy_cache_id() -> ProxyCacheId {
        spec::PROXY_CACHE_ID.parse().unwrap()
    }

    /// `spec::MEMBER_ID`.
    pub fn member_id() -> MemberId {
        spec::MEMBER_ID.parse().unwrap()
    }

    /// `spec::USER_ID`.
    pub fn user_id() -> UserId {
        spec::USER_ID.parse().unwrap()
    }

    /// `spec::SCAN_ID`.
    pub fn scan_id() -> ScanId {
        spec::SCAN_ID.parse().unwrap()
    }
}
