//! `--output json|table`: pretty JSON (the default), or an aligned text
//! table for people.

use clap::ValueEnum;
use serde::Serialize;
use serde_json::Value;

use crate::exit::{FAILURE, Failure};
use crate::output::{print_json, terminal_safe, write_stdout};

/// The values of `--output`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Pretty JSON with the API's field names (lists as arrays).
    Json,
    /// Aligned columns: a header row and the main fields for lists,
    /// `key value` lines for one object.
    Table,
}

/// Prints results in the chosen format.
#[derive(Debug, Clone, Copy)]
pub struct Printer {
    format: Format,
}

fn to_value(v: &impl Serialize) -> Result<Value, Failure> {
    serde_json::to_value(v).map_err(|e| Failure::new(FAILURE, format!("encoding JSON: {e}")))
}

/// A value as a table cell: strings bare, arrays of scalars joined with
/// commas, missing or null as `-`, objects as compact JSON; newlines and
/// tabs become spaces, other control characters are escaped
/// ([`terminal_safe`]).
fn cell(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => "-".to_owned(),
        Some(Value::String(s)) if s.is_empty() => "-".to_owned(),
        Some(Value::String(s)) => terminal_safe(&s.replace(['\n', '\t'], " ")).into_owned(),
        Some(Value::Array(a)) if a.iter().all(|i| !i.is_object() && !i.is_array()) => {
            if a.is_empty() {
                "-".to_owned()
            } else {
                a.iter()
                    .map(|i| cell(Some(i)))
                    .collect::<Vec<_>>()
                    .join(",")
            }
        }
        Some(other) => terminal_safe(&other.to_string()).into_owned(),
    }
}

/// Rows as aligned columns (two spaces apart), without trailing blanks.
fn render(rows: &[Vec<String>]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (c, text) in row.iter().enumerate() {
            line.push_str(text);
            if c + 1 < row.len() {
                let pad = widths[c] - text.chars().count() + 2;
                line.extend(std::iter::repeat_n(' ', pad));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// A header row (the column paths, upper case) and one row per item.
fn table(items: &[Value], columns: &[&str]) -> String {
    let header = columns
        .iter()
        .map(|c| c.replace('.', "_").to_ascii_uppercase())
        .collect();
    let mut rows = vec![header];
    for item in items {
        rows.push(
            columns
                .iter()
                .map(|c| cell(item.pointer(&format!("/{}", c.replace('.', "/")))))
                .collect(),
        );
    }
    render(&rows)
}

/// `key value` lines, one per field of an object (in key order).
fn key_values(object: &Value) -> String {
    let rows: Vec<Vec<String>> = match object {
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| vec![terminal_safe(k).into_owned(), cell(Some(v))])
            .collect(),
        other => vec![vec![cell(Some(other))]],
    };
    render(&rows)
}

impl Printer {
    /// A printer for `format`.
    pub fn new(format: Format) -> Printer {
        Printer { format }
    }

    /// Prints one object.
    pub fn object(&self, value: &impl Serialize) -> Result<(), Failure> {
        match self.format {
            Format::Json => print_json(value),
            Format::Table => write_stdout(key_values(&to_value(value)?).as_bytes()),
        }
    }

    /// Prints a list; a table shows `columns` (field names, `a.b` for a
    /// nested field).
    pub fn list<T: Serialize>(&self, items: &[T], columns: &[&str]) -> Result<(), Failure> {
        match self.format {
            Format::Json => print_json(&items),
            Format::Table => {
                let values = items.iter().map(to_value).collect::<Result<Vec<_>, _>>()?;
                write_stdout(table(&values, columns).as_bytes())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tables_are_aligned() {
        let items = [
            json!({"id": "a", "name": "first", "tags": ["x", "y"], "s": {"total": 3}}),
            json!({"id": "bbbb", "name": null, "tags": [], "s": {"total": 10}}),
        ];
        assert_eq!(
            table(&items, &["id", "name", "tags", "s.total"]),
            "ID    NAME   TAGS  S_TOTAL\n\
             a     first  x,y   3\n\
             bbbb  -      -     10\n"
        );
        assert_eq!(table(&[], &["id", "name"]), "ID  NAME\n");
    }

    #[test]
    fn cells_from_the_api_are_terminal_safe() {
        let items = [json!({
            "id": "\u{1b}[2J\u{1b}]0;pwned\u{7}",
            "name": "a\rb\u{202e}c",
            "tags": ["x\u{9b}1m"],
            "s": {"k": "\u{1b}\u{202e}"}
        })];
        let text = table(&items, &["id", "name", "tags", "s"]);
        assert!(
            !text.contains(['\u{1b}', '\r', '\u{7}', '\u{9b}', '\u{202e}']),
            "{text:?}"
        );
        assert!(text.contains("\\x1b[2J\\x1b]0;pwned\\x07"), "{text}");
        assert!(text.contains("a\\rb\\u{202e}c"), "{text}");
        assert!(text.contains("x\\u{9b}1m"), "{text}");
        // serde_json escapes C0 in compact JSON; the bidi control is escaped here.
        assert!(text.contains(r#"{"k":"\u001b\u{202e}"}"#), "{text}");
        let kv = key_values(&json!({"\u{1b}[31mkey": "v"}));
        assert_eq!(kv, "\\x1b[31mkey  v\n");
    }

    #[test]
    fn objects_are_key_value_lines() {
        let v = json!({"id": "a", "storage_usage_bytes": 12, "extra": {"k": 1}});
        assert_eq!(
            key_values(&v),
            "extra                {\"k\":1}\nid                   a\nstorage_usage_bytes  12\n"
        );
    }
}
