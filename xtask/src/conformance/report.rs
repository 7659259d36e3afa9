//! The conformance report: a table on stdout, JUnit XML and Markdown under
//! `target/conformance/`.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

/// The outcome of one check.
#[derive(Debug, Clone)]
pub(crate) struct Outcome {
    /// Conformance group: pull, push, discovery, management, auth.
    pub group: &'static str,
    /// What was checked.
    pub name: &'static str,
    /// `None` when it passed; the reason otherwise.
    pub failure: Option<String>,
    /// How long it took.
    pub elapsed: Duration,
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The table printed at the end of a run.
pub(crate) fn table(outcomes: &[Outcome]) -> String {
    let width = outcomes.iter().map(|o| o.name.len()).max().unwrap_or(10);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<11} {:<width$}  {:>7}  result",
        "group", "check", "ms"
    );
    for o in outcomes {
        let result = match &o.failure {
            None => "PASS".to_owned(),
            Some(why) => format!("FAIL: {why}"),
        };
        let _ = writeln!(
            out,
            "{:<11} {:<width$}  {:>7}  {result}",
            o.group,
            o.name,
            o.elapsed.as_millis()
        );
    }
    let failed = outcomes.iter().filter(|o| o.failure.is_some()).count();
    let _ = writeln!(out, "{} passed, {failed} failed", outcomes.len() - failed);
    out
}

/// JUnit XML, one test suite per group.
pub(crate) fn junit(outcomes: &[Outcome]) -> String {
    let mut groups: Vec<&str> = outcomes.iter().map(|o| o.group).collect();
    groups.dedup();
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"oci-conformance\">\n",
    );
    for g in groups {
        let cases: Vec<&Outcome> = outcomes.iter().filter(|o| o.group == g).collect();
        let failures = cases.iter().filter(|o| o.failure.is_some()).count();
        let time: f64 = cases.iter().map(|o| o.elapsed.as_secs_f64()).sum();
        let _ = writeln!(
            out,
            "  <testsuite name=\"{g}\" tests=\"{}\" failures=\"{failures}\" time=\"{time:.3}\">",
            cases.len()
        );
        for c in cases {
            let _ = write!(
                out,
                "    <testcase classname=\"conformance.{g}\" name=\"{}\" time=\"{:.3}\"",
                xml_escape(c.name),
                c.elapsed.as_secs_f64()
            );
            match &c.failure {
                None => out.push_str("/>\n"),
                Some(why) => {
                    let _ = writeln!(
                        out,
                        ">\n      <failure message=\"{}\"/>\n    </testcase>",
                        xml_escape(why)
                    );
                }
            }
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

/// A Markdown report.
pub(crate) fn markdown(outcomes: &[Outcome], registry: &str) -> String {
    let failed = outcomes.iter().filter(|o| o.failure.is_some()).count();
    let mut out = format!(
        "# OCI distribution conformance (client side)\n\nRegistry: `{registry}`\n\n**{} passed, {failed} failed**\n\n| group | check | ms | result |\n|---|---|---:|---|\n",
        outcomes.len() - failed
    );
    for o in outcomes {
        let result = match &o.failure {
            None => "pass".to_owned(),
            Some(why) => format!("**FAIL**: {}", why.replace('|', "\\|")),
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {result} |",
            o.group,
            o.name,
            o.elapsed.as_millis()
        );
    }
    out
}

/// Writes `junit.xml` and `report.md` into `dir` (atomically).
pub(crate) fn write(dir: &Path, outcomes: &[Outcome], registry: &str) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    for (name, text) in [
        ("junit.xml", junit(outcomes)),
        ("report.md", markdown(outcomes, registry)),
    ] {
        let tmp = dir.join(format!(".{name}.tmp"));
        std::fs::write(&tmp, text)?;
        std::fs::rename(&tmp, dir.join(name))?;
    }
    Ok(())
}
