//! Access scopes (`repository:library/alpine:pull,push`) and the policy that
//! decides which of the requested actions a token grants.

use std::fmt;
use std::sync::Arc;

/// A parsed access scope such as `repository:library/alpine:pull,push`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    /// Resource type, e.g. `repository` or `registry`.
    pub kind: String,
    /// Resource name, e.g. `library/alpine` or `catalog`.
    pub name: String,
    /// Requested actions, e.g. `["pull", "push"]` or `["*"]`.
    pub actions: Vec<String>,
}

impl Scope {
    /// Parses `type:name:actions`; the name may itself contain `:` (e.g. a port).
    pub fn parse(s: &str) -> Option<Scope> {
        let (kind, rest) = s.split_once(':')?;
        let (name, actions) = rest.rsplit_once(':')?;
        if kind.is_empty() || name.is_empty() {
            return None;
        }
        let actions = actions
            .split(',')
            .filter(|a| !a.is_empty())
            .map(str::to_owned)
            .collect();
        Some(Scope {
            kind: kind.to_owned(),
            name: name.to_owned(),
            actions,
        })
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.kind, self.name, self.actions.join(","))
    }
}

/// A custom grant function: `(user or None for anonymous, requested scope) -> granted actions`.
pub type PolicyFn = Arc<dyn Fn(Option<&str>, &Scope) -> Vec<String> + Send + Sync>;

/// Decides which of the requested actions a token grants.
#[derive(Clone, Default)]
pub enum TokenPolicy {
    /// Grant everything that is asked, to anyone (the default).
    #[default]
    GrantAll,
    /// Anonymous callers get only `pull`; authenticated users get everything asked.
    AnonymousPullOnly,
    /// Grant nothing: every token has an empty `access` list for the scopes asked.
    DenyAll,
    /// A custom decision.
    Custom(PolicyFn),
}

impl TokenPolicy {
    /// Builds a [`TokenPolicy::Custom`] from a closure.
    pub fn custom(f: impl Fn(Option<&str>, &Scope) -> Vec<String> + Send + Sync + 'static) -> Self {
        TokenPolicy::Custom(Arc::new(f))
    }

    /// The actions granted to `user` for `scope`.
    pub fn grant(&self, user: Option<&str>, scope: &Scope) -> Vec<String> {
        match self {
            TokenPolicy::GrantAll => scope.actions.clone(),
            TokenPolicy::AnonymousPullOnly if user.is_none() => scope
                .actions
                .iter()
                .filter(|a| *a == "pull")
                .cloned()
                .collect(),
            TokenPolicy::AnonymousPullOnly => scope.actions.clone(),
            TokenPolicy::DenyAll => Vec::new(),
            TokenPolicy::Custom(f) => f(user, scope),
        }
    }
}

impl fmt::Debug for TokenPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenPolicy::GrantAll => f.write_str("GrantAll"),
            TokenPolicy::AnonymousPullOnly => f.write_str("AnonymousPullOnly"),
            TokenPolicy::DenyAll => f.write_str("DenyAll"),
            TokenPolicy::Custom(_) => f.write_str("Custom(..)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_parsing() {
        let s = Scope::parse("repository:foo/bar:pull,push").unwrap();
        assert_eq!(s.kind, "repository");
        assert_eq!(s.name, "foo/bar");
        assert_eq!(s.actions, ["pull", "push"]);
        let s = Scope::parse("repository:localhost:5000/foo:pull").unwrap();
        assert_eq!(s.name, "localhost:5000/foo");
        assert_eq!(s.to_string(), "repository:localhost:5000/foo:pull");
        assert_eq!(Scope::parse("registry:catalog:*").unwrap().actions, ["*"]);
        assert!(Scope::parse("nonsense").is_none());
    }
}
