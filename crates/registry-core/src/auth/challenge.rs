//! Parsing `WWW-Authenticate` (RFC 9110 §11.6.1): several challenges in one
//! header, quoted values with commas and escapes, token68 credentials.

use crate::error::Error;

/// One authentication challenge, e.g. `Bearer realm="…",service="…"`.
///
/// ```
/// use registry_core::auth::Challenge;
/// let all = Challenge::parse_all(
///     r#"Bearer realm="https://auth.example/token",service="registry",scope="repository:a/b:pull,push", Basic realm="x""#,
/// ).unwrap();
/// assert_eq!(all.len(), 2);
/// assert_eq!(all[0].scheme(), "bearer");
/// assert_eq!(all[0].param("scope"), Some("repository:a/b:pull,push"));
/// assert_eq!(all[1].scheme(), "basic");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    scheme: String,
    params: Vec<(String, String)>,
    token68: Option<String>,
}

impl Challenge {
    /// The scheme, lowercased (`bearer`, `basic`, …).
    pub fn scheme(&self) -> &str {
        &self.scheme
    }

    /// A parameter by case-insensitive name.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// All parameters in order.
    pub fn params(&self) -> &[(String, String)] {
        &self.params
    }

    /// A token68 value, when the challenge carries one instead of parameters.
    pub fn token68(&self) -> Option<&str> {
        self.token68.as_deref()
    }

    /// Parses every challenge in one header value.
    pub fn parse_all(header: &str) -> Result<Vec<Challenge>, Error> {
        Parser {
            s: header.as_bytes(),
            i: 0,
        }
        .challenges()
        .map_err(|why| Error::protocol(format!("malformed WWW-Authenticate header: {why}")))
    }

    /// Parses every challenge in several header values.
    pub fn parse_headers(headers: &http::HeaderMap) -> Vec<Challenge> {
        headers
            .get_all(http::header::WWW_AUTHENTICATE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(|v| Challenge::parse_all(v).ok())
            .flatten()
            .collect()
    }
}

#[derive(Clone, Copy)]
struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

fn is_tchar(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c)
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    /// Moves past the bytes matching `keep`; returns them.
    fn skip_while(&mut self, keep: impl Fn(u8) -> bool) -> &'a [u8] {
        let start = self.i;
        while self.peek().is_some_and(&keep) {
            self.i += 1;
        }
        &self.s[start..self.i]
    }

    fn skip_ws(&mut self) {
        self.skip_while(|c| matches!(c, b' ' | b'\t'));
    }

    fn skip_ws_commas(&mut self) {
        self.skip_while(|c| matches!(c, b' ' | b'\t' | b','));
    }

    fn token(&mut self) -> &'a str {
        std::str::from_utf8(self.skip_while(is_tchar)).unwrap_or("")
    }

    fn quoted(&mut self) -> Result<String, &'static str> {
        self.i += 1; // opening quote
        let mut out = Vec::new();
        loop {
            match self.peek() {
                None => return Err("unterminated quoted string"),
                Some(b'"') => {
                    self.i += 1;
                    return String::from_utf8(out).map_err(|_| "quoted string is not UTF-8");
                }
                Some(b'\\') => {
                    self.i += 1;
                    out.push(self.peek().ok_or("dangling escape")?);
                    self.i += 1;
                }
                Some(c) => {
                    out.push(c);
                    self.i += 1;
                }
            }
        }
    }

    /// After a scheme: is the next thing `name=` (a parameter)?
    fn at_param(&self) -> bool {
        let mut ahead = *self;
        if ahead.token().is_empty() {
            return false;
        }
        ahead.skip_ws();
        // `name=value`, but not a token68 ending in padding (`abc==`).
        ahead.peek() == Some(b'=') && !matches!(self.s.get(ahead.i + 1), None | Some(b'=' | b','))
    }

    fn challenges(mut self) -> Result<Vec<Challenge>, &'static str> {
        let mut out = Vec::new();
        loop {
            self.skip_ws_commas();
            if self.peek().is_none() {
                return Ok(out);
            }
            let scheme = self.token().to_ascii_lowercase();
            if scheme.is_empty() {
                return Err("expected an authentication scheme");
            }
            let mut ch = Challenge {
                scheme,
                params: Vec::new(),
                token68: None,
            };
            self.skip_ws();
            if !self.at_param() && self.peek().is_some_and(|c| c != b',') {
                // token68
                let t68 = self.skip_while(|c| c.is_ascii_alphanumeric() || b"-._~+/=".contains(&c));
                if t68.is_empty() {
                    return Err("unexpected character after scheme");
                }
                ch.token68 = Some(String::from_utf8_lossy(t68).into_owned());
                out.push(ch);
                continue;
            }
            // auth-params
            loop {
                self.skip_ws();
                if !self.at_param() {
                    break;
                }
                let name = self.token().to_owned();
                self.skip_ws();
                self.i += 1; // '='
                self.skip_ws();
                let value = if self.peek() == Some(b'"') {
                    self.quoted()?
                } else {
                    self.token().to_owned()
                };
                ch.params.push((name, value));
                self.skip_ws();
                match self.peek() {
                    Some(b',') => {
                        // Either the next parameter or the next challenge.
                        self.skip_ws_commas();
                        if !self.at_param() {
                            break;
                        }
                    }
                    None => break,
                    Some(_) => return Err("expected ',' between parameters"),
                }
            }
            out.push(ch);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_hub_style() {
        let c = Challenge::parse_all(
            r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull""#,
        )
        .unwrap();
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].param("realm"), Some("https://auth.docker.io/token"));
        assert_eq!(c[0].param("SERVICE"), Some("registry.docker.io"));
        assert_eq!(c[0].param("scope"), Some("repository:library/alpine:pull"));
    }

    #[test]
    fn insufficient_scope_and_multiple_scopes() {
        let c = Challenge::parse_all(
            r#"Bearer realm="https://r/token",service="r",scope="repository:a:pull repository:b:pull,push",error="insufficient_scope""#,
        )
        .unwrap();
        assert_eq!(c[0].param("error"), Some("insufficient_scope"));
        assert_eq!(
            c[0].param("scope"),
            Some("repository:a:pull repository:b:pull,push")
        );
    }

    #[test]
    fn several_challenges_with_commas_in_quotes() {
        let c = Challenge::parse_all(
            r#"Basic realm="a, b \"quoted\"", Bearer realm="https://x/t",service=svc , Newauth foo=bar"#,
        )
        .unwrap();
        assert_eq!(c.len(), 3);
        assert_eq!(c[0].scheme(), "basic");
        assert_eq!(c[0].param("realm"), Some(r#"a, b "quoted""#));
        assert_eq!(c[1].param("service"), Some("svc"));
        assert_eq!(c[2].scheme(), "newauth");
        assert_eq!(c[2].param("foo"), Some("bar"));
    }

    #[test]
    fn token68_and_bare_scheme() {
        let c = Challenge::parse_all("Negotiate abc123==, Basic").unwrap();
        assert_eq!(c[0].token68(), Some("abc123=="));
        assert_eq!(c[1].scheme(), "basic");
        assert!(c[1].params().is_empty());
    }

    #[test]
    fn malformed() {
        assert!(Challenge::parse_all(r#"Bearer realm="unterminated"#).is_err());
        assert!(Challenge::parse_all("Bearer realm=a service=b").is_err());
    }
}
