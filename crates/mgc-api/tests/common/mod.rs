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
