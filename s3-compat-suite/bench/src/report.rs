//! Merge the JSON of several `run`s (targets × rounds) into one table: the median over rounds of
//! each measure, the spread of ops/s over rounds, and the ratio of ops/s to a baseline target.

use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct ReportArgs {
    /// JSON files written by `run --json` (directories: every *.json in them).
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// Target the ratios are computed against.
    #[arg(long, default_value = "seaweedfs")]
    baseline: String,
    /// Order of the targets in the table (default: order of first appearance).
    #[arg(long, value_delimiter = ',')]
    targets: Vec<String>,
    /// Write the merged table as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Extra KEY=VALUE pairs recorded in the JSON.
    #[arg(long = "meta", value_parser = crate::parse_kv)]
    meta: Vec<(String, String)>,
}

fn median(v: &mut [f64]) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn num(x: f64) -> String {
    if x >= 100.0 {
        format!("{x:.0}")
    } else if x >= 10.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.2}")
    }
}

/// What the `items` of a scenario are.
fn items_name(scenario: &str) -> &'static str {
    match scenario.split(' ').next().unwrap_or_default() {
        "versions" => "versions/s",
        "small" | "delete" => "keys/s",
        _ => "items/s",
    }
}

#[derive(Default)]
struct Cell {
    rounds: usize,
    ops: Vec<f64>,
    mb: Vec<f64>,
    p50: Vec<f64>,
    p99: Vec<f64>,
    items: Vec<f64>,
    errors: u64,
    rss_kib: Option<u64>,
    rss_before_kib: Option<u64>,
    /// Largest rise of the server's RSS during the transfer (peak − RSS when it started).
    rss_rise_kib: Option<u64>,
    samples: Vec<String>,
}

pub fn report(a: ReportArgs) -> i32 {
    let mut files = Vec::new();
    for p in &a.inputs {
        if p.is_dir() {
            let Ok(rd) = std::fs::read_dir(p) else {
                eprintln!("report: cannot read {}", p.display());
                return 2;
            };
            let mut v: Vec<PathBuf> = rd
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "json"))
                .collect();
            v.sort();
            files.extend(v);
        } else {
            files.push(p.clone());
        }
    }
    // (scenario, op) rows in order of appearance; per row, per target, a Cell.
    let mut rows: Vec<(String, String)> = Vec::new();
    let mut targets: Vec<String> = a.targets.clone();
    let mut cells: BTreeMap<(usize, String), Cell> = BTreeMap::new();
    let mut docs = Vec::new();
    for f in &files {
        let doc: Value = match std::fs::read_to_string(f)
            .map_err(|e| e.to_string())
            .and_then(|t| serde_json::from_str(&t).map_err(|e| e.to_string()))
        {
            Ok(d) => d,
            Err(e) => {
                eprintln!("report: {}: {e}", f.display());
                return 2;
            }
        };
        if doc["tool"] == "wormgate-bench" {
            docs.push(doc);
        }
    }
    // Rows of the default (signed) payload first, then the variants.
    let rank = |d: &Value| match d["payload"].as_str() {
        Some("signed") | None => 0,
        Some("unsigned") => 1,
        _ => 2,
    };
    docs.sort_by_key(rank);
    for doc in &docs {
        let target = doc["target"].as_str().unwrap_or("?").to_string();
        if !targets.contains(&target) {
            targets.push(target.clone());
        }
        // Payload variants other than the default get rows of their own.
        let payload = doc["payload"].as_str().unwrap_or("signed");
        for r in doc["results"].as_array().into_iter().flatten() {
            let mut scenario = r["scenario"].as_str().unwrap_or("?").to_string();
            if payload != "signed" {
                scenario = format!("{scenario} [{payload}]");
            }
            let key = (scenario, r["op"].as_str().unwrap_or("?").to_string());
            let row = match rows.iter().position(|x| *x == key) {
                Some(i) => i,
                None => {
                    rows.push(key);
                    rows.len() - 1
                }
            };
            let c = cells.entry((row, target.clone())).or_default();
            let g = |k: &str| r[k].as_f64().unwrap_or(0.0);
            c.rounds += 1;
            c.ops.push(g("ops_per_s"));
            c.mb.push(g("mb_per_s"));
            c.p50.push(g("p50_ms"));
            c.p99.push(g("p99_ms"));
            c.items.push(g("items_per_s"));
            c.errors += r["errors"].as_u64().unwrap_or(0);
            if let Some(rss) = r["server_peak_rss_kib"].as_u64() {
                c.rss_kib = Some(c.rss_kib.unwrap_or(0).max(rss));
            }
            if let Some(rss) = r["server_rss_before_kib"].as_u64() {
                c.rss_before_kib = Some(c.rss_before_kib.map_or(rss, |x| x.min(rss)));
                let rise = r["server_peak_rss_kib"].as_u64().unwrap_or(rss).saturating_sub(rss);
                c.rss_rise_kib = Some(c.rss_rise_kib.unwrap_or(0).max(rise));
            }
            for s in r["error_samples"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
            {
                if c.samples.len() < 3 && !c.samples.iter().any(|x| x == s) {
                    c.samples.push(s.to_string());
                }
            }
        }
    }
    if rows.is_empty() {
        eprintln!("report: no results in {} file(s)", files.len());
        return 2;
    }
    println!(
        "| scenario | operation | target | ops/s | MB/s | p50 ms | p99 ms | errors | ÷ {} | spread | note |",
        a.baseline
    );
    println!("|---|---|---|--:|--:|--:|--:|--:|--:|--:|---|");
    let mut out_rows = Vec::new();
    let mut total_errors = 0;
    for (i, (scenario, op)) in rows.iter().enumerate() {
        let base_ops = cells
            .get_mut(&(i, a.baseline.clone()))
            .map(|c| median(&mut c.ops.clone()));
        for t in &targets {
            let Some(c) = cells.get_mut(&(i, t.clone())) else {
                continue;
            };
            let ops = median(&mut c.ops);
            let mb = median(&mut c.mb);
            let p50 = median(&mut c.p50);
            let p99 = median(&mut c.p99);
            let items = median(&mut c.items);
            let (lo, hi) = (
                c.ops.first().copied().unwrap_or(0.0),
                c.ops.last().copied().unwrap_or(0.0),
            );
            let spread = if ops > 0.0 && c.rounds > 1 {
                (hi - lo) / ops * 100.0
            } else {
                0.0
            };
            let ratio = match base_ops {
                Some(b) if b > 0.0 && t != &a.baseline => Some(ops / b),
                _ => None,
            };
            let mut note = Vec::new();
            if items > 0.0
                && (op.starts_with("LIST") || scenario.starts_with("versions") || scenario.starts_with("delete"))
            {
                note.push(format!("{} {}", num(items), items_name(scenario)));
            }
            if let Some(r) = c.rss_kib {
                let rise = c
                    .rss_rise_kib
                    .map(|b| format!(", +{} MiB during it", b / 1024))
                    .unwrap_or_default();
                let low = c
                    .rss_before_kib
                    .map(|b| format!(" (lowest start {} MiB)", b / 1024))
                    .unwrap_or_default();
                note.push(format!("server RSS peak {} MiB{rise}{low}", r / 1024));
            }
            if c.rounds > 1 {
                note.push(format!("{} rounds", c.rounds));
            }
            total_errors += c.errors;
            println!(
                "| {scenario} | {op} | {t} | {} | {} | {} | {} | {} | {} | {} | {} |",
                num(ops),
                if mb >= 0.05 && !op.starts_with("LIST") && !op.starts_with("List") {
                    num(mb)
                } else {
                    "—".into()
                },
                num(p50),
                num(p99),
                c.errors,
                ratio.map_or("—".to_string(), |r| format!("{r:.2}")),
                if c.rounds > 1 {
                    format!("±{:.0}%", spread / 2.0)
                } else {
                    "—".into()
                },
                note.join("; ")
            );
            out_rows.push(json!({
                "scenario": scenario, "op": op, "target": t, "rounds": c.rounds,
                "ops_per_s": ops, "mb_per_s": mb, "p50_ms": p50, "p99_ms": p99, "items_per_s": items,
                "errors": c.errors, "ratio_to_baseline": ratio, "ops_per_s_min": lo, "ops_per_s_max": hi,
                "server_peak_rss_kib": c.rss_kib, "server_rss_rise_kib": c.rss_rise_kib,
                "error_samples": c.samples,
            }));
        }
    }
    for (i, (scenario, op)) in rows.iter().enumerate() {
        for t in &targets {
            if let Some(c) = cells.get(&(i, t.clone())) {
                for s in &c.samples {
                    println!("\nerror in {scenario} {op} on {t}: {s}");
                }
            }
        }
    }
    if let Some(path) = &a.json {
        let meta: serde_json::Map<String, Value> = a
            .meta
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        let doc = json!({"tool": "wormgate-bench report", "format": 1, "baseline": a.baseline,
                         "meta": meta, "inputs": files, "rows": out_rows});
        if let Err(e) = std::fs::write(path, serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n") {
            eprintln!("report: writing {}: {e}", path.display());
            return 2;
        }
    }
    if total_errors > 0 {
        1
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians() {
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&mut [4.0, 1.0, 2.0, 3.0]), 2.5);
        assert_eq!(median(&mut []), 0.0);
    }
}
