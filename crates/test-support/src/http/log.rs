//! [`RequestLog`]: the shared, cloneable list of requests a [`FakeServer`](super::FakeServer)
//! or [`Proxy`](super::Proxy) records, with the counting both offer.

use std::sync::{Arc, Mutex, MutexGuard};

use http::Method;

use super::{glob_match, method_matches};

/// An entry of a [`RequestLog`]: what [`RequestLog::count`] matches on.
pub(super) trait Logged: Clone {
    /// The request method.
    fn method(&self) -> &Method;
    /// The path of the request URI.
    fn path(&self) -> &str;
}

/// Requests in the order recorded; clones share the same list.
#[derive(Debug)]
pub(super) struct RequestLog<T>(Arc<Mutex<Vec<T>>>);

impl<T> Clone for RequestLog<T> {
    fn clone(&self) -> Self {
        RequestLog(self.0.clone())
    }
}

impl<T: Logged> RequestLog<T> {
    pub(super) fn new() -> Self {
        RequestLog(Arc::new(Mutex::new(Vec::new())))
    }

    fn lock(&self) -> MutexGuard<'_, Vec<T>> {
        self.0.lock().expect("request log poisoned")
    }

    /// Appends `entry`.
    pub(super) fn push(&self, entry: T) {
        self.lock().push(entry);
    }

    /// Every entry so far, in order.
    pub(super) fn all(&self) -> Vec<T> {
        self.lock().clone()
    }

    /// How many entries so far.
    pub(super) fn len(&self) -> usize {
        self.lock().len()
    }

    /// How many entries matched `method` (`"*"` for any) and path glob `path`.
    pub(super) fn count(&self, method: &str, path: &str) -> usize {
        self.lock()
            .iter()
            .filter(|r| method_matches(method, r.method()) && glob_match(path, r.path()))
            .count()
    }

    /// Forgets every entry.
    pub(super) fn clear(&self) {
        self.lock().clear();
    }
}
