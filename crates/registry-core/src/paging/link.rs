//! The RFC 8288 `Link` header: [`Link`], [`parse_link_header`],
//! [`links`] and [`next_link`].

use http::HeaderMap;
use http::header::LINK;

/// One link-value of a `Link` header (RFC 8288 §3): the target and its
/// parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// The target URI reference as written between `<` and `>` (often a
    /// path, to resolve against the request URL).
    pub target: String,
    /// The parameters in order: names lower-cased, values unquoted.
    pub params: Vec<(String, String)>,
}

impl Link {
    /// The value of the first parameter `name` (case-insensitive).
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The relation types: the space-separated values of the first `rel`
    /// parameter (later ones are ignored, RFC 8288 §3.3).
    pub fn rels(&self) -> impl Iterator<Item = &str> {
        self.param("rel").unwrap_or("").split_ascii_whitespace()
    }

    /// Whether `rel` is one of the relation types (case-insensitive).
    pub fn has_rel(&self, rel: &str) -> bool {
        self.rels().any(|r| r.eq_ignore_ascii_case(rel))
    }
}

/// The links of one `Link` header value: `<target>; name=value; …`
/// separated by commas. Commas inside `<…>` and quoted strings are part of
/// them; quoted values are unescaped; parameter names are lower-cased.
///
/// Lenient, as RFC 8288 Appendix B asks: an element that is not a link
/// (garbage) is skipped up to the next comma, and a link is kept with the
/// parameters read before anything malformed.
///
/// ```
/// use registry_core::paging::parse_link_header;
/// let links = parse_link_header(r#"</p?a=1,2>; rel="prev", </n>; REL="next last"; title="a, b""#);
/// assert_eq!(links[0].target, "/p?a=1,2");
/// assert!(links[1].has_rel("next") && links[1].has_rel("last"));
/// assert_eq!(links[1].param("title"), Some("a, b"));
/// ```
pub fn parse_link_header(value: &str) -> Vec<Link> {
    let b = value.as_bytes();
    let mut i = 0;
    let mut links = Vec::new();
    loop {
        skip_ows(b, &mut i);
        match b.get(i) {
            None => return links,
            // Empty list elements are allowed (RFC 9110 §5.6.1).
            Some(b',') => i += 1,
            Some(b'<') => {
                let Some(len) = value[i + 1..].find('>') else {
                    // An unterminated target: nothing after it can be read.
                    return links;
                };
                let target = value[i + 1..i + 1 + len].trim().to_owned();
                i += len + 2;
                let params = parse_params(value, &mut i);
                links.push(Link { target, params });
                skip_ows(b, &mut i);
                if i < b.len() && b[i] != b',' {
                    skip_element(b, &mut i);
                }
            }
            Some(_) => skip_element(b, &mut i),
        }
    }
}

/// `*( OWS ";" OWS name [ BWS "=" BWS ( token / quoted-string ) ] )`;
/// stops before anything else (a comma ends the link-value).
fn parse_params(value: &str, i: &mut usize) -> Vec<(String, String)> {
    let b = value.as_bytes();
    let mut params = Vec::new();
    loop {
        skip_ows(b, i);
        if b.get(*i) != Some(&b';') {
            return params;
        }
        *i += 1;
        skip_ows(b, i);
        let start = *i;
        while *i < b.len() && !matches!(b[*i], b'=' | b';' | b',' | b' ' | b'\t') {
            *i += 1;
        }
        let name = value[start..*i].to_ascii_lowercase();
        skip_ows(b, i);
        let mut param_value = String::new();
        if b.get(*i) == Some(&b'=') {
            *i += 1;
            skip_ows(b, i);
            if b.get(*i) == Some(&b'"') {
                param_value = parse_quoted(b, i);
            } else {
                let start = *i;
                while *i < b.len() && !matches!(b[*i], b';' | b',') {
                    *i += 1;
                }
                param_value = value[start..*i].trim_end().to_owned();
            }
        }
        if !name.is_empty() {
            params.push((name, param_value));
        }
    }
}

/// A quoted-string starting at `b[*i] == '"'`, unescaped; an unterminated
/// one runs to the end.
fn parse_quoted(b: &[u8], i: &mut usize) -> String {
    let mut out = Vec::new();
    *i += 1;
    while let Some(&c) = b.get(*i) {
        *i += 1;
        match c {
            b'"' => break,
            b'\\' if *i < b.len() => {
                out.push(b[*i]);
                *i += 1;
            }
            _ => out.push(c),
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Moves `i` to the next comma outside `<…>` and quoted strings (or the
/// end).
fn skip_element(b: &[u8], i: &mut usize) {
    while let Some(&c) = b.get(*i) {
        match c {
            b',' => return,
            b'"' => {
                parse_quoted(b, i);
            }
            b'<' => match b[*i..].iter().position(|&c| c == b'>') {
                Some(p) => *i += p + 1,
                None => *i = b.len(),
            },
            _ => *i += 1,
        }
    }
}

fn skip_ows(b: &[u8], i: &mut usize) {
    while matches!(b.get(*i), Some(b' ' | b'\t')) {
        *i += 1;
    }
}

/// The links of every `Link` header, in order (values that are not
/// visible ASCII are skipped).
pub fn links(headers: &HeaderMap) -> Vec<Link> {
    headers
        .get_all(LINK)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(parse_link_header)
        .collect()
}

/// The target of the first link with relation type `next` among the `Link`
/// headers, as written (usually a path such as `/v2/_catalog?last=b&n=2`;
/// resolve it with [`resolve_next`](super::resolve_next)).
///
/// ```
/// let mut h = http::HeaderMap::new();
/// h.append(http::header::LINK, r#"</a?last=x,y&n=2>; rel="prev""#.parse().unwrap());
/// h.append(http::header::LINK, r#"</acr/v1/a/_tags?last=v2&n=2&orderby=>; rel="next""#.parse().unwrap());
/// assert_eq!(
///     registry_core::paging::next_link(&h).as_deref(),
///     Some("/acr/v1/a/_tags?last=v2&n=2&orderby=")
/// );
/// ```
pub fn next_link(headers: &HeaderMap) -> Option<String> {
    links(headers)
        .into_iter()
        .find(|l| l.has_rel("next"))
        .map(|l| l.target)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn next(v: &str) -> Option<String> {
        parse_link_header(v)
            .into_iter()
            .find(|l| l.has_rel("next"))
            .map(|l| l.target)
    }

    fn headers(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(LINK, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn link_parsing() {
        assert_eq!(
            next(r#"</v2/a/tags/list?last=b&n=2>; rel="next""#).as_deref(),
            Some("/v2/a/tags/list?last=b&n=2")
        );
        assert_eq!(
            next(r#"<https://x/prev>; rel="prev", <https://x/next>; rel=next"#).as_deref(),
            Some("https://x/next")
        );
        assert_eq!(next(r#"<https://x/prev>; rel="prev""#), None);
        assert_eq!(next("garbage"), None);
    }

    #[test]
    fn link_header_variants() {
        let link = |v: &str| next_link(&headers(&[v]));
        assert_eq!(link(r#"</a?n=1>; rel="next""#).as_deref(), Some("/a?n=1"));
        assert_eq!(link("</a?n=1>;rel=next").as_deref(), Some("/a?n=1"));
        assert_eq!(
            link(r#"</p>; rel="prev", </n?last=x,y>; rel="next""#).as_deref(),
            Some("/n?last=x,y")
        );
        assert_eq!(link(r#"</p>; rel="prev""#), None);
        assert_eq!(next_link(&HeaderMap::new()), None);
    }

    #[test]
    fn commas_inside_targets_and_quoted_values() {
        // The first link's target has commas; so has a quoted title before
        // the rel of the second.
        let links = parse_link_header(
            r#"</v2/_catalog?last=a,b&n=2,3>; rel="prev", </v2/_catalog?last=c,d>; title="x, y; z"; rel="next""#,
        );
        assert_eq!(links.len(), 2, "{links:?}");
        assert_eq!(links[0].target, "/v2/_catalog?last=a,b&n=2,3");
        assert!(links[0].has_rel("prev"));
        assert_eq!(links[1].target, "/v2/_catalog?last=c,d");
        assert_eq!(links[1].param("title"), Some("x, y; z"));
        assert!(links[1].has_rel("next"));
        // A comma in a target before the next link, not a separator.
        assert_eq!(
            next("</a,>; rel=prev,</b,c>;rel=next").as_deref(),
            Some("/b,c")
        );
    }

    #[test]
    fn quoted_rel_escapes_and_case() {
        assert_eq!(next(r#"</n>; rel="next""#).as_deref(), Some("/n"));
        assert_eq!(next(r#"</n>; REL="NEXT""#).as_deref(), Some("/n"));
        assert_eq!(next("</n> ;\tRel = Next ").as_deref(), Some("/n"));
        let l = &parse_link_header(r#"</n>; title="a \"quoted\" \\ word"; rel=next"#)[0];
        assert_eq!(l.param("title"), Some(r#"a "quoted" \ word"#));
        assert_eq!(l.param("TITLE"), l.param("title"));
        // Only the first rel counts (RFC 8288 §3.3).
        assert_eq!(next(r#"</n>; rel="prev"; rel="next""#), None);
        // Another parameter mentioning next is not a rel.
        assert_eq!(next(r#"</n>; title="next"; rev=next"#), None);
        assert_eq!(next(r#"</n>; rel="nextpage""#), None);
    }

    #[test]
    fn several_rels() {
        let l = &parse_link_header(r#"</n>; rel="last  next	alternate""#)[0];
        assert_eq!(l.rels().collect::<Vec<_>>(), ["last", "next", "alternate"]);
        assert!(l.has_rel("next") && l.has_rel("Last"));
        assert_eq!(next("</n>; rel=\"prev next\"").as_deref(), Some("/n"));
    }

    #[test]
    fn several_headers() {
        let h = headers(&[
            r#"</first>; rel="first", </prev>; rel="prev""#,
            "garbage",
            r#"</next?last=a,b>; rel="next""#,
            r#"</other>; rel="next""#,
        ]);
        assert_eq!(links(&h).len(), 4);
        assert_eq!(next_link(&h).as_deref(), Some("/next?last=a,b"));
    }

    #[test]
    fn garbage() {
        for v in [
            "",
            "garbage",
            ",,, ,",
            "<",
            "</unterminated; rel=next",
            "rel=next",
            "; rel=next",
            r#""</n>"; rel=next"#,
            "https://x/n; rel=next",
        ] {
            assert_eq!(next(v), None, "{v:?}");
        }
        // Garbage is skipped up to the next comma.
        assert_eq!(
            next(r#"junk "a, b", </n>; rel=next"#).as_deref(),
            Some("/n")
        );
        assert_eq!(next("junk <a,b>, </n>; rel=next").as_deref(), Some("/n"));
        // A link keeps the parameters read before something malformed.
        assert_eq!(
            next(r#"</n>; rel="next" junk; rel=prev, </m>; rel=next"#).as_deref(),
            Some("/n")
        );
        // Empty elements and parameters without values.
        let l = parse_link_header(", </n>;; crossorigin; rel=next,");
        assert_eq!(l.len(), 1);
        assert_eq!(l[0].param("crossorigin"), Some(""));
        assert!(l[0].has_rel("next"));
        // Unterminated quotes run to the end.
        assert_eq!(
            parse_link_header(r#"</n>; title="open, </m>; rel=next"#)[0].param("title"),
            Some("open, </m>; rel=next")
        );
    }
}
