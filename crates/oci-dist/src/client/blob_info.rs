//! Where blobs were seen in this registry during this process (like
//! skopeo's blob-info cache): digest → the repositories known to hold it.
//!
//! One [`BlobInfo`] lives in a [`Client`](super::Client)'s shared state, so
//! every clone (`with_segment`, `with_repository`) fills and reads the same
//! one. It is filled when a blob is found (`HEAD`), read (`GET`), uploaded or
//! mounted in a repository, and read by the registry's
//! [`ImageDestination::store_blob`](crate::content::ImageDestination::store_blob):
//! a blob known to be in another repository of the registry is mounted from
//! there instead of uploaded. An entry can go stale (the blob deleted since):
//! the registry then answers the mount with an upload session (`202`), the
//! entry is forgotten and the blob is uploaded into that session, so a stale
//! entry costs nothing but the wasted mount attempt, never correctness (the
//! registry checks what it mounts; uploads are checked against the digest).
//!
//! Bounded: at most [`MAX_DIGESTS`] digests (the oldest recorded is dropped
//! first) and [`MAX_REPOSITORIES`] repositories per digest (the oldest
//! dropped first).

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use registry_core::Digest;

/// How many digests are remembered.
pub(crate) const MAX_DIGESTS: usize = 10_000;
/// How many repositories are remembered per digest.
pub(crate) const MAX_REPOSITORIES: usize = 4;

/// Digest → repositories of this registry known to hold it (most recent
/// last). See the [module documentation](self).
#[derive(Debug, Default)]
pub(crate) struct BlobInfo {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    repositories: HashMap<Digest, VecDeque<String>>,
    /// Digests in the order first recorded, for eviction.
    order: VecDeque<Digest>,
}

impl BlobInfo {
    /// Notes that `repository` holds `digest`.
    pub(crate) fn record(&self, digest: &Digest, repository: &str) {
        if repository.is_empty() {
            return;
        }
        let mut inner = self.inner.lock().expect("blob info poisoned");
        let inner = &mut *inner;
        match inner.repositories.get_mut(digest) {
            Some(repos) => {
                repos.retain(|r| r != repository);
                if repos.len() >= MAX_REPOSITORIES {
                    repos.pop_front();
                }
                repos.push_back(repository.to_owned());
            }
            None => {
                if inner.order.len() >= MAX_DIGESTS
                    && let Some(oldest) = inner.order.pop_front()
                {
                    inner.repositories.remove(&oldest);
                }
                inner.order.push_back(digest.clone());
                inner
                    .repositories
                    .insert(digest.clone(), VecDeque::from([repository.to_owned()]));
            }
        }
    }

    /// Forgets that `repository` holds `digest` (a mount from it failed).
    pub(crate) fn forget(&self, digest: &Digest, repository: &str) {
        let mut inner = self.inner.lock().expect("blob info poisoned");
        if let Some(repos) = inner.repositories.get_mut(digest) {
            repos.retain(|r| r != repository);
            if repos.is_empty() {
                inner.repositories.remove(digest);
                inner.order.retain(|d| d != digest);
            }
        }
    }

    /// The repository most recently seen holding `digest`, other than
    /// `except` (the one a blob is wanted in).
    pub(crate) fn elsewhere(&self, digest: &Digest, except: &str) -> Option<String> {
        let inner = self.inner.lock().expect("blob info poisoned");
        inner
            .repositories
            .get(digest)?
            .iter()
            .rev()
            .find(|r| *r != except)
            .cloned()
    }

    /// Whether `repository` is known to hold `digest`.
    #[cfg(test)]
    fn holds(&self, digest: &Digest, repository: &str) -> bool {
        let inner = self.inner.lock().expect("blob info poisoned");
        inner
            .repositories
            .get(digest)
            .is_some_and(|repos| repos.iter().any(|r| r == repository))
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.inner.lock().unwrap().repositories.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(n: u64) -> Digest {
        Digest::sha256_of(&n.to_le_bytes())
    }

    #[test]
    fn records_finds_elsewhere_and_forgets() {
        let info = BlobInfo::default();
        assert_eq!(info.elsewhere(&d(1), "b"), None);
        info.record(&d(1), "a");
        assert!(info.holds(&d(1), "a"));
        assert_eq!(info.elsewhere(&d(1), "b").as_deref(), Some("a"));
        assert_eq!(info.elsewhere(&d(1), "a"), None);
        info.record(&d(1), "c");
        assert_eq!(info.elsewhere(&d(1), "b").as_deref(), Some("c"));
        info.forget(&d(1), "c");
        assert_eq!(info.elsewhere(&d(1), "b").as_deref(), Some("a"));
        info.forget(&d(1), "a");
        assert_eq!(info.elsewhere(&d(1), "b"), None);
        assert_eq!(info.len(), 0);
    }

    #[test]
    fn bounded() {
        let info = BlobInfo::default();
        for r in 0..MAX_REPOSITORIES + 2 {
            info.record(&d(0), &format!("r{r}"));
        }
        assert!(!info.holds(&d(0), "r0"));
        assert!(info.holds(&d(0), &format!("r{}", MAX_REPOSITORIES + 1)));
        for n in 1..=MAX_DIGESTS as u64 {
            info.record(&d(n), "a");
        }
        assert_eq!(info.len(), MAX_DIGESTS);
        // The first recorded digest made room.
        assert!(!info.holds(&d(0), &format!("r{}", MAX_REPOSITORIES + 1)));
        assert!(info.holds(&d(MAX_DIGESTS as u64), "a"));
    }
}
