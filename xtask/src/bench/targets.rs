//! The performance targets, checked against the measured medians.

use serde_json::{Value, json};

use super::report::{Scenario, ToolResult};
use super::tools::Tool;

/// One target: met, missed, or not measurable in this run.
#[derive(Debug, Clone)]
pub(crate) struct Check {
    /// What is required.
    pub(crate) name: String,
    /// `Some(true)` met, `Some(false)` missed, `None` not measured.
    pub(crate) met: Option<bool>,
    /// The figures behind the verdict.
    pub(crate) detail: String,
}

impl Check {
    /// For the JSON report.
    pub(crate) fn to_json(&self) -> Value {
        let verdict = match self.met {
            Some(true) => "met",
            Some(false) => "missed",
            None => "not measured",
        };
        json!({"target": self.name, "verdict": verdict, "detail": self.detail})
    }

    /// One line for the table.
    pub(crate) fn line(&self) -> String {
        let verdict = match self.met {
            Some(true) => "MET   ",
            Some(false) => "MISSED",
            None => "n/a   ",
        };
        format!("{verdict} {}: {}", self.name, self.detail)
    }
}

fn tool(s: &Scenario, t: Tool) -> Option<&ToolResult> {
    s.tools.iter().find(|r| r.tool == t)
}

fn median(s: &Scenario, t: Tool) -> Option<f64> {
    tool(s, t)?.median()
}

/// `crctl` median / `other` median must be at most `max`.
fn ratio_check(s: &Scenario, other: Tool, max: f64, name: &str) -> Check {
    match (median(s, Tool::Crctl), median(s, other)) {
        (Some(c), Some(o)) => Check {
            name: name.to_owned(),
            met: Some(c / o <= max),
            detail: format!(
                "crctl {c:.3} s vs {} {o:.3} s: ratio {:.2} (limit {max:.2})",
                other.name(),
                c / o
            ),
        },
        (c, o) => Check {
            name: name.to_owned(),
            met: None,
            detail: format!(
                "crctl {}, {} {}",
                c.map_or("not measured".into(), |v| format!("{v:.3} s")),
                other.name(),
                o.map_or("not measured".into(), |v| format!("{v:.3} s"))
            ),
        },
    }
}

fn rss_check(s: &Scenario, limit_mib: f64) -> Check {
    let name = format!("crctl {} peak RSS < {limit_mib:.0} MiB", s.name);
    match tool(s, Tool::Crctl).and_then(ToolResult::peak_rss_mib) {
        Some(m) => Check {
            name,
            met: Some(m < limit_mib),
            detail: format!("{m:.1} MiB"),
        },
        None => Check {
            name,
            met: None,
            detail: "not measured".into(),
        },
    }
}

/// `bytes` (not measured: `None`) must be at most `floor`.
pub(crate) fn bytes_at_most(name: &str, bytes: Option<u64>, floor: u64) -> Check {
    Check {
        name: name.to_owned(),
        met: bytes.map(|b| b <= floor),
        detail: bytes.map_or("not measured".into(), |b| {
            format!("{b} bytes uploaded (floor {floor})")
        }),
    }
}

/// Every target that applies to the scenarios that ran.
pub(crate) fn check(scenarios: &[Scenario]) -> Vec<Check> {
    let mut out = Vec::new();
    for s in scenarios {
        match s.name {
            "push" => {
                out.push(ratio_check(
                    s,
                    Tool::Skopeo,
                    1.0 / 1.3,
                    "push: crctl >= 1.3x faster than skopeo",
                ));
                out.push(ratio_check(
                    s,
                    Tool::Raw,
                    1.1,
                    "push: crctl within 1.1x of the raw baseline",
                ));
                out.push(rss_check(s, 32.0));
            }
            "pull" => {
                out.push(ratio_check(
                    s,
                    Tool::Skopeo,
                    0.5,
                    "pull: crctl >= 2x faster than skopeo",
                ));
                out.push(ratio_check(
                    s,
                    Tool::RawDurable,
                    1.2,
                    "pull: crctl within 1.2x of the raw baseline, both durable",
                ));
                out.push(rss_check(s, 32.0));
            }
            "pull-tmpfs" => {
                out.push(ratio_check(
                    s,
                    Tool::OciClient,
                    0.8,
                    "pull-tmpfs: crctl <= 0.8x oci-client's time",
                ));
                out.push(ratio_check(
                    s,
                    Tool::Raw,
                    1.2,
                    "pull-tmpfs: crctl within 1.2x of the raw baseline",
                ));
                out.push(rss_check(s, 32.0));
            }
            "copy" => {
                let name = "copy: crctl in-registry copy < 0.5 s".to_owned();
                out.push(match median(s, Tool::Crctl) {
                    Some(m) => Check {
                        name,
                        met: Some(m < 0.5),
                        detail: format!("{m:.3} s"),
                    },
                    None => Check {
                        name,
                        met: None,
                        detail: "not measured".into(),
                    },
                });
            }
            "sync" => out.push(ratio_check(
                s,
                Tool::Skopeo,
                0.5,
                "sync: crctl >= 2x faster than skopeo sync",
            )),
            "sync-rerun" => {
                let name = "sync-rerun: crctl no-op rerun <= 1 s".to_owned();
                out.push(match median(s, Tool::Crctl) {
                    Some(m) => Check {
                        name,
                        met: Some(m <= 1.0),
                        detail: format!("{m:.3} s"),
                    },
                    None => Check {
                        name,
                        met: None,
                        detail: "not measured".into(),
                    },
                });
            }
            _ => {}
        }
        out.extend(s.extra.iter().flat_map(|e| e.checks.iter().cloned()));
    }
    out
}
