//! Token scopes (`repository:name:pull,push`) and inferring them from a
//! registry request.

use std::collections::BTreeMap;
use std::fmt;

use http::{Method, Request};

/// One resource scope of the Docker token spec.
///
/// ```
/// use registry_core::auth::Scope;
/// let s: Scope = "repository:library/alpine:pull,push".parse().unwrap();
/// assert_eq!(s.name(), "library/alpine");
/// assert_eq!(s.to_string(), "repository:library/alpine:pull,push");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Scope {
    resource_type: String,
    name: String,
    actions: Vec<String>,
}

impl Scope {
    /// A scope on a repository.
    pub fn repository(name: impl Into<String>, actions: &[&str]) -> Scope {
        Scope::new("repository", name, actions)
    }

    /// Any scope.
    pub fn new(
        resource_type: impl Into<String>,
        name: impl Into<String>,
        actions: &[&str],
    ) -> Scope {
        let mut actions: Vec<String> = actions.iter().map(|a| (*a).to_owned()).collect();
        actions.sort();
        actions.dedup();
        Scope {
            resource_type: resource_type.into(),
            name: name.into(),
            actions,
        }
    }

    /// `repository`, `registry`, …
    pub fn resource_type(&self) -> &str {
        &self.resource_type
    }

    /// The resource name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The actions, sorted.
    pub fn actions(&self) -> &[String] {
        &self.actions
    }
}

impl std::str::FromStr for Scope {
    type Err = crate::Error;

    fn from_str(s: &str) -> Result<Scope, crate::Error> {
        let bad = || crate::Error::protocol(format!("malformed scope {s:?}"));
        let (ty, rest) = s.split_once(':').ok_or_else(bad)?;
        let (name, actions) = rest.rsplit_once(':').ok_or_else(bad)?;
        if ty.is_empty() || name.is_empty() {
            return Err(bad());
        }
        let actions: Vec<&str> = actions.split(',').filter(|a| !a.is_empty()).collect();
        Ok(Scope::new(ty, name, &actions))
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}",
            self.resource_type,
            self.name,
            self.actions.join(",")
        )
    }
}

/// A normalised set of scopes: one entry per resource, actions merged and
/// sorted, so that equal needs give equal cache keys.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Scopes(Vec<Scope>);

impl Scopes {
    /// Normalises a list of scopes.
    pub fn new(scopes: impl IntoIterator<Item = Scope>) -> Scopes {
        let mut merged: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
        for s in scopes {
            merged
                .entry((s.resource_type, s.name))
                .or_default()
                .extend(s.actions);
        }
        Scopes(
            merged
                .into_iter()
                .map(|((t, n), a)| {
                    let a: Vec<&str> = a.iter().map(String::as_str).collect();
                    Scope::new(t, n, &a)
                })
                .collect(),
        )
    }

    /// The union of two sets.
    pub fn union(&self, other: &Scopes) -> Scopes {
        Scopes::new(self.0.iter().chain(other.0.iter()).cloned())
    }

    /// Whether every scope of `other` is covered by this set.
    pub fn covers(&self, other: &Scopes) -> bool {
        other.0.iter().all(|o| {
            self.0.iter().any(|s| {
                s.resource_type == o.resource_type
                    && s.name == o.name
                    && o.actions
                        .iter()
                        .all(|a| s.actions.contains(a) || s.actions.iter().any(|x| x == "*"))
            })
        })
    }

    /// The scopes.
    pub fn iter(&self) -> impl Iterator<Item = &Scope> {
        self.0.iter()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Parses the space-separated `scope` parameter of a challenge.
    pub fn parse_param(s: &str) -> Scopes {
        Scopes::new(s.split_whitespace().filter_map(|p| p.parse().ok()))
    }

    /// A stable string form for cache keys and logs.
    pub fn key(&self) -> String {
        self.0
            .iter()
            .map(Scope::to_string)
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Scopes a request declares explicitly, as a request extension; when
/// absent, [`infer_scopes`] guesses from the method and path.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequiredScopes(pub Scopes);

/// The scopes a distribution-spec request needs, from its method and path:
/// `GET /v2/<name>/manifests/x` needs `repository:<name>:pull`; writes need
/// `pull,push`; deletes need `delete`; a mount (`?from=<src>`) also needs
/// pull on the source; `/v2/_catalog` needs `registry:catalog:*`.
///
/// ```
/// use registry_core::auth::{infer_scopes, Scope};
/// let req = http::Request::post("https://r/v2/a/b/blobs/uploads/?mount=sha256:1&from=c/d").body(()).unwrap();
/// let scopes = infer_scopes(&req);
/// let keys: Vec<String> = scopes.iter().map(Scope::to_string).collect();
/// assert_eq!(keys, ["repository:a/b:pull,push", "repository:c/d:pull"]);
/// ```
pub fn infer_scopes<B>(req: &Request<B>) -> Scopes {
    if let Some(RequiredScopes(s)) = req.extensions().get::<RequiredScopes>() {
        return s.clone();
    }
    let path = req.uri().path();
    let Some(rest) = path.strip_prefix("/v2/") else {
        return Scopes::default();
    };
    if rest.starts_with("_catalog") {
        return Scopes::new([Scope::new("registry", "catalog", &["*"])]);
    }
    let segments: Vec<&str> = rest.split('/').collect();
    let Some(pos) = segments
        .iter()
        .rposition(|s| matches!(*s, "manifests" | "blobs" | "tags" | "referrers"))
        .filter(|&pos| pos > 0)
    else {
        return Scopes::default();
    };
    let name = segments[..pos].join("/");
    let actions: &[&str] = match *req.method() {
        Method::GET | Method::HEAD => &["pull"],
        Method::DELETE => &["delete"],
        _ => &["pull", "push"],
    };
    let mut scopes = vec![Scope::repository(name, actions)];
    if let Some(q) = req.uri().query() {
        for (k, v) in url::form_urlencoded::parse(q.as_bytes()) {
            if k == "from" && !v.is_empty() {
                scopes.push(Scope::repository(v.into_owned(), &["pull"]));
            }
        }
    }
    Scopes::new(scopes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(method: Method, uri: &str) -> String {
        let req = Request::builder().method(method).uri(uri).body(()).unwrap();
        infer_scopes(&req).key()
    }

    #[test]
    fn inference() {
        assert_eq!(keys(Method::GET, "https://r/v2/"), "");
        assert_eq!(
            keys(Method::HEAD, "https://r/v2/org/app/manifests/latest"),
            "repository:org/app:pull"
        );
        assert_eq!(
            keys(Method::PUT, "https://r/v2/blobs/manifests/latest"),
            "repository:blobs:pull,push"
        );
        assert_eq!(
            keys(Method::PATCH, "https://r/v2/a/blobs/uploads/abc"),
            "repository:a:pull,push"
        );
        assert_eq!(
            keys(Method::DELETE, "https://r/v2/a/manifests/sha256:1"),
            "repository:a:delete"
        );
        assert_eq!(
            keys(Method::GET, "https://r/v2/_catalog?n=10"),
            "registry:catalog:*"
        );
        assert_eq!(
            keys(Method::GET, "https://r/v2/a/tags/list"),
            "repository:a:pull"
        );
    }

    #[test]
    fn union_and_cover() {
        let a = Scopes::parse_param("repository:a:pull");
        let b = Scopes::parse_param("repository:a:push repository:b:pull");
        let u = a.union(&b);
        assert_eq!(u.key(), "repository:a:pull,push repository:b:pull");
        assert!(u.covers(&a) && u.covers(&b));
        assert!(!a.covers(&u));
    }
}
