//! Results: per scenario and tool, the run times, median, ratios against
//! every other tool and peak RSS; printed as a table and written as JSON
//! (`target/bench/results.json`).

use std::path::Path;

use serde_json::{Map, Value, json};

use super::targets::Check;
use super::tools::Tool;

/// One measured run.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sample {
    /// Wall-clock seconds.
    pub(crate) seconds: f64,
    /// Peak RSS in KiB (external tools with `/usr/bin/time` only).
    pub(crate) rss_kib: Option<u64>,
    /// User + system CPU seconds of the client.
    pub(crate) cpu_s: Option<f64>,
}

/// The runs of one tool in one scenario.
#[derive(Debug, Clone)]
pub(crate) struct ToolResult {
    /// The tool.
    pub(crate) tool: Tool,
    /// Successful runs, in order.
    pub(crate) samples: Vec<Sample>,
    /// Why it stopped (unavailable, or a failed run).
    pub(crate) error: Option<String>,
}

impl ToolResult {
    /// No runs yet.
    pub(crate) fn new(tool: Tool) -> Self {
        ToolResult {
            tool,
            samples: Vec::new(),
            error: None,
        }
    }

    /// The median run time, if any run succeeded.
    pub(crate) fn median(&self) -> Option<f64> {
        median(self.samples.iter().map(|s| s.seconds).collect())
    }

    /// The median CPU time of the client, when measured on every run.
    pub(crate) fn median_cpu(&self) -> Option<f64> {
        median(
            self.samples
                .iter()
                .map(|s| s.cpu_s)
                .collect::<Option<Vec<f64>>>()?,
        )
    }

    /// The largest peak RSS over the runs, in MiB.
    pub(crate) fn peak_rss_mib(&self) -> Option<f64> {
        self.samples
            .iter()
            .filter_map(|s| s.rss_kib)
            .max()
            .map(|k| k as f64 / 1024.0)
    }

    fn status(&self) -> &'static str {
        match (self.samples.is_empty(), &self.error) {
            (true, Some(_)) => "unavailable",
            (false, Some(_)) => "failed",
            _ => "ok",
        }
    }

    fn min_max(&self) -> Option<(f64, f64)> {
        let it = self.samples.iter().map(|s| s.seconds);
        let min = it.clone().min_by(f64::total_cmp)?;
        let max = it.max_by(f64::total_cmp)?;
        Some((min, max))
    }
}

/// One scenario: what it measures and each tool's results.
#[derive(Debug, Clone)]
pub(crate) struct Scenario {
    /// `push`, `pull`, `copy` or `tags`.
    pub(crate) name: &'static str,
    /// One line saying what is measured.
    pub(crate) description: String,
    /// Bytes moved per run, for throughput.
    pub(crate) bytes: Option<u64>,
    /// The target from the issue, as text.
    pub(crate) target: &'static str,
    /// Per tool, in the order they ran.
    pub(crate) tools: Vec<ToolResult>,
    /// Figures beyond run times (the sync scenario's request and byte counts).
    pub(crate) extra: Option<Extra>,
}

/// What a scenario measured besides run times.
#[derive(Debug, Clone)]
pub(crate) struct Extra {
    /// Lines printed under the scenario's table rows.
    pub(crate) lines: Vec<String>,
    /// Written under the scenario's `extra` key in the JSON.
    pub(crate) json: Value,
    /// Targets only this scenario can judge (appended to the others).
    pub(crate) checks: Vec<Check>,
}

impl Scenario {
    /// The ratios of `tool`'s median to every other tool's median (below 1:
    /// faster than that tool).
    fn ratios(&self, tool: &ToolResult) -> Vec<(Tool, f64)> {
        let Some(mine) = tool.median() else {
            return Vec::new();
        };
        self.tools
            .iter()
            .filter(|o| o.tool != tool.tool)
            .filter_map(|o| Some((o.tool, mine / o.median()?)))
            .collect()
    }

    fn to_json(&self) -> Value {
        let mut tools = Map::new();
        for t in &self.tools {
            let ratios: Map<String, Value> = self
                .ratios(t)
                .into_iter()
                .map(|(o, r)| (o.name().to_owned(), json!(round(r, 3))))
                .collect();
            let (min, max) = t.min_max().unzip();
            let mibs = match (self.bytes, t.median()) {
                (Some(b), Some(m)) if m > 0.0 => Some(round(b as f64 / 1048576.0 / m, 1)),
                _ => None,
            };
            tools.insert(
                t.tool.name().to_owned(),
                json!({
                    "status": t.status(),
                    "reason": t.error,
                    "runs_s": t.samples.iter().map(|s| round(s.seconds, 4)).collect::<Vec<_>>(),
                    "median_s": t.median().map(|m| round(m, 4)),
                    "min_s": min.map(|m| round(m, 4)),
                    "max_s": max.map(|m| round(m, 4)),
                    "mib_per_s": mibs,
                    "peak_rss_mib": t.peak_rss_mib().map(|m| round(m, 1)),
                    "rss_mib_runs": t.samples.iter()
                        .map(|s| s.rss_kib.map(|k| round(k as f64 / 1024.0, 1)))
                        .collect::<Vec<_>>(),
                    "cpu_s_runs": t.samples.iter().map(|s| s.cpu_s.map(|c| round(c, 3))).collect::<Vec<_>>(),
                    "median_cpu_s": t.median_cpu().map(|c| round(c, 3)),
                    "ratio_of_medians": ratios,
                }),
            );
        }
        json!({
            "description": self.description,
            "bytes": self.bytes,
            "target": self.target,
            "tools": tools,
            "extra": self.extra.as_ref().map(|e| &e.json),
        })
    }
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

fn round(x: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (x * f).round() / f
}

/// Everything measured by one `cargo xtask bench`.
#[derive(Debug)]
pub(crate) struct Report {
    /// Context: image shape, runs, machine, versions.
    pub(crate) meta: Value,
    /// The scenarios, in the order they ran.
    pub(crate) scenarios: Vec<Scenario>,
    /// The targets against these figures.
    pub(crate) checks: Vec<Check>,
}

impl Report {
    /// The structured results.
    pub(crate) fn to_json(&self) -> Value {
        let scenarios: Map<String, Value> = self
            .scenarios
            .iter()
            .map(|s| (s.name.to_owned(), s.to_json()))
            .collect();
        json!({
            "meta": self.meta,
            "ratio_of_medians": "this tool's median / the other tool's median: below 1 means faster",
            "scenarios": scenarios,
            "targets": self.checks.iter().map(Check::to_json).collect::<Vec<_>>(),
        })
    }

    /// Writes the JSON to `path`.
    pub(crate) fn write(&self, path: &Path) -> Result<(), String> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
        }
        let text = serde_json::to_string_pretty(&self.to_json()).expect("JSON");
        std::fs::write(path, text + "\n").map_err(|e| format!("writing {}: {e}", path.display()))
    }

    /// The human-readable table.
    pub(crate) fn table(&self) -> String {
        let mut out = String::new();
        let header = format!(
            "{:<6} {:<11} {:>8} {:>8} {:>8} {:>8} {:>8} {:>9}  {}\n",
            "",
            "tool",
            "median",
            "min",
            "max",
            "MiB/s",
            "CPU",
            "peak RSS",
            "median ratio vs others"
        );
        for s in &self.scenarios {
            out.push_str(&format!("\n{}: {}\n", s.name, s.description));
            out.push_str(&format!("       target: {}\n", s.target));
            out.push_str(&header);
            for t in &s.tools {
                let secs = |x: Option<f64>| x.map_or("-".to_owned(), |v| format!("{v:.3}s"));
                let (min, max) = t.min_max().unzip();
                let mibs = match (s.bytes, t.median()) {
                    (Some(b), Some(m)) if m > 0.0 => format!("{:.0}", b as f64 / 1048576.0 / m),
                    _ => "-".to_owned(),
                };
                let rss = t
                    .peak_rss_mib()
                    .map_or("-".to_owned(), |m| format!("{m:.1}MiB"));
                let ratios: Vec<String> = s
                    .ratios(t)
                    .iter()
                    .map(|(o, r)| format!("{r:.2}x {}", o.name()))
                    .collect();
                let tail = match &t.error {
                    Some(e) if t.samples.is_empty() => format!("UNAVAILABLE: {e}"),
                    Some(e) => format!("{}  FAILED: {e}", ratios.join(", ")),
                    None => ratios.join(", "),
                };
                out.push_str(&format!(
                    "{:<6} {:<11} {:>8} {:>8} {:>8} {:>8} {:>8} {:>9}  {}\n",
                    "",
                    t.tool.name(),
                    secs(t.median()),
                    secs(min),
                    secs(max),
                    mibs,
                    secs(t.median_cpu()),
                    rss,
                    tail
                ));
            }
            for line in s.extra.iter().flat_map(|e| &e.lines) {
                out.push_str(&format!("{:<6} {line}\n", ""));
            }
        }
        if !self.checks.is_empty() {
            out.push_str("\ntargets:\n");
            for c in &self.checks {
                out.push_str(&format!("  {}\n", c.line()));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(tool: Tool, secs: &[f64]) -> ToolResult {
        ToolResult {
            tool,
            samples: secs
                .iter()
                .map(|&seconds| Sample {
                    seconds,
                    rss_kib: Some(2048),
                    cpu_s: Some(seconds / 2.0),
                })
                .collect(),
            error: None,
        }
    }

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(result(Tool::Raw, &[3.0, 1.0, 2.0]).median(), Some(2.0));
        assert_eq!(result(Tool::Raw, &[4.0, 1.0, 2.0, 3.0]).median(), Some(2.5));
        assert_eq!(result(Tool::Raw, &[]).median(), None);
    }

    #[test]
    fn ratios_divide_medians_and_skip_tools_without_runs() {
        let s = Scenario {
            name: "pull",
            description: String::new(),
            bytes: Some(1 << 20),
            target: "",
            tools: vec![
                result(Tool::Crctl, &[1.0, 1.0, 1.0]),
                result(Tool::Skopeo, &[2.0, 2.0, 2.0]),
                result(Tool::OciClient, &[]),
            ],
            extra: None,
        };
        assert_eq!(s.ratios(&s.tools[0]), vec![(Tool::Skopeo, 0.5)]);
        assert_eq!(s.ratios(&s.tools[1]), vec![(Tool::Crctl, 2.0)]);
        let json = s.to_json();
        assert_eq!(json["tools"]["crctl"]["ratio_of_medians"]["skopeo"], 0.5);
        assert_eq!(json["tools"]["crctl"]["mib_per_s"], 1.0);
        assert_eq!(json["tools"]["crctl"]["peak_rss_mib"], 2.0);
        assert_eq!(json["tools"]["crctl"]["median_cpu_s"], 0.5);
    }
}
