//! When [`Fault`]s fire: matching requests and responses against the
//! [`FaultRule`]s, and counting firings against their limits.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use http::{HeaderValue, Method};

use super::request::RequestCut;
use super::{Fault, FaultRule, RangeFilter};
use crate::http::{glob_match, method_matches};

impl FaultRule {
    pub(super) fn matches_request(&self, method: &Method, path: &str, ranged: bool) -> bool {
        method_matches(&self.method, method)
            && glob_match(&self.path, path)
            && match self.range {
                RangeFilter::Any => true,
                RangeFilter::Ranged => ranged,
                RangeFilter::Unranged => !ranged,
            }
    }

    pub(super) fn matches_status(&self, status: u16) -> bool {
        match &self.statuses {
            Some(list) => list.contains(&status),
            None => (200..300).contains(&status),
        }
    }
}

/// How often one rule fired.
#[derive(Debug, Default)]
struct RuleCount {
    total: usize,
    per_path: HashMap<String, usize>,
}

/// A body fault chosen for one response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(in crate::http) enum BodyFault {
    /// Send `after` body bytes, then close (or reset) the connection.
    Cut {
        after: u64,
        reset: bool,
    },
    StallAfterHeaders,
    StallBeforeHeaders,
    Trickle {
        bytes: usize,
        every: Duration,
    },
}

/// The faults chosen for one response.
#[derive(Debug, Default)]
pub(in crate::http) struct ResponseFaults {
    /// A `Docker-Content-Digest` to send instead of the real one.
    pub(in crate::http) lie_digest: Option<HeaderValue>,
    /// What to do with the body (or the head).
    pub(in crate::http) body: Option<BodyFault>,
}

/// The rules of a proxy and how often each fired; shared with [`Proxy`](crate::http::Proxy).
#[derive(Debug, Default)]
pub(in crate::http) struct FaultSet {
    rules: Vec<FaultRule>,
    counts: Mutex<Vec<RuleCount>>,
}

impl FaultSet {
    pub(in crate::http) fn new(rules: Vec<FaultRule>) -> Self {
        let counts = rules.iter().map(|_| RuleCount::default()).collect();
        FaultSet {
            rules,
            counts: Mutex::new(counts),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Vec<RuleCount>> {
        self.counts.lock().expect("fault counts poisoned")
    }

    /// Whether rule `index` may still fire for `path` (its limits allow it).
    fn may_fire(&self, count: &RuleCount, index: usize, path: &str) -> bool {
        let rule = &self.rules[index];
        let on_path = count.per_path.get(path).copied().unwrap_or(0);
        !(rule.times.is_some_and(|n| count.total >= n)
            || rule.times_per_path.is_some_and(|n| on_path >= n))
    }

    /// Fires rule `index` for `path` if its limits allow it.
    pub(super) fn try_fire(&self, index: usize, path: &str) -> bool {
        let mut counts = self.lock();
        if !self.may_fire(&counts[index], index, path) {
            return false;
        }
        let count = &mut counts[index];
        count.total += 1;
        *count.per_path.entry(path.to_owned()).or_default() += 1;
        true
    }

    /// The [`Fault::CutRequestAfter`] that may cut this request, whose body
    /// has `body_len` bytes if known: the first matching rule whose limits are
    /// not used up and whose `n` is below `body_len`. It fires (and counts)
    /// only when the body actually goes past `n` bytes.
    pub(in crate::http) fn request_cut(
        self: &Arc<Self>,
        method: &Method,
        path: &str,
        ranged: bool,
        body_len: Option<u64>,
    ) -> Option<RequestCut> {
        let counts = self.lock();
        self.rules.iter().enumerate().find_map(|(i, rule)| {
            let Fault::CutRequestAfter(after) = rule.fault else {
                return None;
            };
            (body_len.is_none_or(|len| len > after)
                && rule.matches_request(method, path, ranged)
                && self.may_fire(&counts[i], i, path))
            .then(|| RequestCut {
                faults: self.clone(),
                index: i,
                path: path.to_owned(),
                after,
            })
        })
    }

    /// Whether to drop the `Range` header of this request ([`Fault::IgnoreRange`]).
    pub(in crate::http) fn ignore_range(&self, method: &Method, path: &str, ranged: bool) -> bool {
        self.rules.iter().enumerate().any(|(i, rule)| {
            rule.fault == Fault::IgnoreRange
                && rule.matches_request(method, path, ranged)
                && self.try_fire(i, path)
        })
    }

    /// The faults for a response with `status` and `content_length` to this request.
    pub(in crate::http) fn on_response(
        &self,
        method: &Method,
        path: &str,
        ranged: bool,
        status: u16,
        content_length: Option<u64>,
    ) -> ResponseFaults {
        let mut chosen = ResponseFaults::default();
        for (i, rule) in self.rules.iter().enumerate() {
            if !(rule.matches_request(method, path, ranged) && rule.matches_status(status)) {
                continue;
            }
            let body = match &rule.fault {
                Fault::IgnoreRange | Fault::CutRequestAfter(_) => continue,
                Fault::LieDigest(_) => {
                    if chosen.lie_digest.is_none() && self.try_fire(i, path) {
                        chosen.lie_digest = rule.lie.clone();
                    }
                    continue;
                }
                Fault::CutAfter(n) => BodyFault::Cut {
                    after: *n,
                    reset: false,
                },
                Fault::CutAtHalf => match content_length {
                    Some(len) => BodyFault::Cut {
                        after: len / 2,
                        reset: false,
                    },
                    None => continue,
                },
                Fault::ResetAfter(n) => BodyFault::Cut {
                    after: *n,
                    reset: true,
                },
                Fault::StallAfterHeaders => BodyFault::StallAfterHeaders,
                Fault::StallBeforeHeaders => BodyFault::StallBeforeHeaders,
                Fault::Trickle { bytes, every } => BodyFault::Trickle {
                    bytes: *bytes,
                    every: *every,
                },
            };
            if chosen.body.is_none() && self.try_fire(i, path) {
                chosen.body = Some(body);
            }
        }
        chosen
    }

    /// How often each rule fired, in the order added.
    pub(in crate::http) fn counts(&self) -> Vec<usize> {
        self.lock().iter().map(|c| c.total).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(rules: Vec<FaultRule>) -> FaultSet {
        FaultSet::new(rules)
    }

    #[test]
    fn limits_and_filters() {
        let faults = set(vec![
            FaultRule::new("GET", "/v2/*/blobs/*", Fault::CutAtHalf)
                .times_per_path(1)
                .only_unranged(),
            FaultRule::new("*", "/v2/*", Fault::LieDigest("sha256:0".into())).times(2),
            FaultRule::new("GET", "*", Fault::StallAfterHeaders).statuses([404]),
        ]);
        let get = Method::GET;
        let r = faults.on_response(&get, "/v2/a/blobs/x", false, 200, Some(11));
        assert_eq!(
            r.body,
            Some(BodyFault::Cut {
                after: 5,
                reset: false
            })
        );
        assert_eq!(r.lie_digest.unwrap(), "sha256:0");
        // Same path again: the cut has been used up; the lie has one left.
        let r = faults.on_response(&get, "/v2/a/blobs/x", false, 200, Some(11));
        assert_eq!(r.body, None);
        assert!(r.lie_digest.is_some());
        // Ranged requests are not cut; the lie is used up.
        let r = faults.on_response(&get, "/v2/a/blobs/y", true, 206, Some(11));
        assert_eq!((r.body, r.lie_digest), (None, None));
        // No Content-Length: no half.
        let r = faults.on_response(&get, "/v2/a/blobs/z", false, 200, None);
        assert_eq!(r.body, None);
        let r = faults.on_response(&get, "/v2/a/blobs/w", false, 404, None);
        assert_eq!(r.body, Some(BodyFault::StallAfterHeaders));
        assert_eq!(faults.counts(), vec![1, 2, 1]);
    }

    #[test]
    fn ignore_range_fires_on_the_request() {
        let faults = set(vec![
            FaultRule::new("GET", "/v2/*/blobs/*", Fault::IgnoreRange)
                .only_ranged()
                .times(1),
        ]);
        assert!(!faults.ignore_range(&Method::GET, "/v2/a/blobs/x", false));
        assert!(faults.ignore_range(&Method::GET, "/v2/a/blobs/x", true));
        assert!(!faults.ignore_range(&Method::GET, "/v2/a/blobs/x", true));
        assert_eq!(faults.counts(), vec![1]);
    }

    #[test]
    fn request_cuts_are_chosen_on_the_request_and_fire_when_cutting() {
        let faults = Arc::new(set(vec![
            FaultRule::new("PUT", "/v2/*/blobs/uploads/*", Fault::CutRequestAfter(10))
                .times(1)
                .statuses([500]),
        ]));
        let put = Method::PUT;
        let path = "/v2/a/blobs/uploads/u";
        assert!(
            faults
                .request_cut(&Method::GET, path, false, None)
                .is_none()
        );
        // Bodies of at most n bytes are never cut.
        assert!(faults.request_cut(&put, path, false, Some(10)).is_none());
        let a = faults.request_cut(&put, path, false, Some(11)).unwrap();
        let b = faults.request_cut(&put, path, false, None).unwrap();
        assert_eq!((a.after, b.after), (10, 10));
        // Not a response fault, whatever the status.
        assert_eq!(faults.on_response(&put, path, false, 500, None).body, None);
        assert_eq!(faults.counts(), vec![0]);
        // The first to cut uses up times(1); the other then passes whole.
        assert!(a.fire());
        assert!(!b.fire());
        assert!(faults.request_cut(&put, path, false, None).is_none());
        assert_eq!(faults.counts(), vec![1]);
    }

    #[test]
    #[should_panic(expected = "not a header value")]
    fn lie_digest_must_be_a_header_value() {
        let _ = FaultRule::new("GET", "*", Fault::LieDigest("a\nb".into()));
    }
}
