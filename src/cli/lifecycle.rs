//! `wormgate lifecycle plan|run`: what the buckets' lifecycle rules will remove and when (offline on a
//! stopped gateway's `--data-dir`, or through a running gateway's admin API with `--endpoint`), and
//! one lifecycle pass now (through the running gateway, which alone applies rules via the lock).

use super::client::{query, AdminClient};
use super::error::CliError;
use crate::config::parse_duration;
use crate::datadir::open_catalog;
use crate::gateway::ADMIN_PREFIX;
use crate::lifecycle::PlanFormat;
use clap::{Args, Subcommand};
use std::path::PathBuf;

/// `wormgate lifecycle …`
#[derive(Debug, Subcommand)]
pub enum LifecycleCmd {
    /// List what the lifecycle rules will remove, when the rule makes it due and when the lock lets it
    /// go (the list an officer signs off before data goes).
    Plan(PlanArgs),
    /// Run one lifecycle pass now on a running gateway (officer key); `--dry-run` only lists.
    Run(RunArgs),
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub target: super::evidence::Target,
    #[arg(long)]
    pub bucket: Option<String>,
    /// Only actions due by then (2024-01-31 or RFC 3339); default: every action the rules will take
    /// as the catalog stands.
    #[arg(long)]
    pub until: Option<String>,
    #[arg(long, value_enum, default_value = "csv")]
    pub format: PlanFormat,
    /// Length of a lifecycle day offline (the running gateway uses its own `--lifecycle-day`).
    #[arg(long, default_value = "24h")]
    pub lifecycle_day: String,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// URL of the running gateway; keys from `WORMGATE_ACCESS_KEY` / `WORMGATE_SECRET_KEY` (officer).
    #[arg(long)]
    pub endpoint: String,
    /// Report what the pass would try, change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

fn run_async<T>(f: impl std::future::Future<Output = Result<T, CliError>>) -> Result<T, CliError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::step("cannot start a runtime", e))?
        .block_on(f)
}

fn plan(a: &PlanArgs) -> Result<Vec<u8>, CliError> {
    if let Some(endpoint) = a.target.endpoint.as_deref() {
        let client = AdminClient::from_env(endpoint)?;
        let fmt = match a.format {
            PlanFormat::Csv => "csv",
            PlanFormat::Json => "json",
        };
        let q = query(&[
            ("bucket", a.bucket.clone()),
            ("until", a.until.clone()),
            ("format", Some(fmt.into())),
        ]);
        return run_async(client.call("GET", &format!("{ADMIN_PREFIX}lifecycle/plan{q}"), Vec::new()));
    }
    let horizon = match a.until.as_deref() {
        None => i64::MAX,
        Some(u) => crate::audit::export::parse_time_bound(u)
            .map_err(CliError::failed)?
            .timestamp_millis(),
    };
    let day = parse_duration(&a.lifecycle_day).map_err(|source| crate::config::ConfigError::Duration {
        setting: "--lifecycle-day".into(),
        source,
    })?;
    let data_dir = a
        .target
        .data_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from("./wormgate-data"));
    // The catalog's flusher needs a runtime.
    run_async(async {
        let cat = open_catalog(&data_dir).map_err(CliError::failed)?;
        let actions = crate::lifecycle::plan_all(&cat, a.bucket.as_deref(), horizon, day.num_milliseconds().max(1))
            .map_err(CliError::failed)?;
        Ok(crate::lifecycle::render_plan(&actions, a.format).into_bytes())
    })
}

/// Run `wormgate lifecycle …`; returns the exit code.
pub fn lifecycle(c: LifecycleCmd) -> i32 {
    let res = match c {
        LifecycleCmd::Plan(a) => plan(&a),
        LifecycleCmd::Run(a) => AdminClient::from_env(&a.endpoint).and_then(|client| {
            let q = query(&[("dry_run", a.dry_run.then(|| "true".to_string()))]);
            run_async(client.call("POST", &format!("{ADMIN_PREFIX}lifecycle/run{q}"), Vec::new()))
        }),
    };
    match res {
        Ok(bytes) => {
            use std::io::Write;
            let mut out = std::io::stdout();
            let _ = out.write_all(&bytes);
            if !bytes.ends_with(b"\n") {
                let _ = out.write_all(b"\n");
            }
            0
        }
        Err(e) => {
            eprintln!("wormgate: {e}");
            super::evidence::EXIT_ERROR
        }
    }
}
