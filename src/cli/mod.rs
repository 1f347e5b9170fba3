//! The `wormgate` command line (clap): `serve` starts the server (`crate::serve`); the evidence
//! subcommands (`audit`, `scrub`, `report`, `recover`, `time`) are in [`evidence`], `evidence bundle|verify`
//! in [`evidence_bundle`], `user` in
//! [`users`], `quota` in [`quota`], `lifecycle` in [`lifecycle`], their admin API client in [`client`].
//! Nothing outside this module (and `main.rs`) imports it.

pub mod client;
pub mod error;
pub mod evidence;
pub mod evidence_bundle;
pub mod lifecycle;
pub mod quota;
pub mod users;

use crate::config::{Config, ServeArgs};
use clap::{Parser, Subcommand};
use std::io::Write;

#[derive(Parser)]
#[command(
    name = "wormgate",
    version,
    about = "S3-compatible object-lock (WORM) gateway: every bucket versioned and locked in COMPLIANCE mode"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
#[allow(clippy::large_enum_variant)] // parsed once at start
enum Command {
    /// Run the gateway.
    Serve(ServeArgs),
    /// The audit trail: verify the hash chain, export records, sign checkpoints.
    #[command(subcommand)]
    Audit(evidence::AuditCmd),
    /// Re-hash every stored version; report missing, corrupt and unreferenced blobs (exit 1 on missing/corrupt).
    Scrub(evidence::ScrubArgs),
    /// Inventory of every version: key, version id, size, SHA-256, created, retain-until, legal hold.
    Report(evidence::ReportArgs),
    /// Rebuild a lost or corrupt catalog from the stored version records (blob sidecars and segment
    /// entries, or the upstream record segments in upstream mode) and the audit trail (gateway stopped).
    Recover(evidence::RecoverArgs),
    /// Trusted time: status, and an officer's confirmation after a clock alarm.
    #[command(subcommand)]
    Time(evidence::TimeCmd),
    /// The signed evidence bundle an examiner receives: make one (offline or via --endpoint), verify one.
    #[command(subcommand)]
    Evidence(evidence_bundle::EvidenceCmd),
    /// Users and their keys kept in the catalog: add, list, show, disable, enable, rotate, delete
    /// (offline on --data-dir, or through a running gateway's admin API with --endpoint and an admin key).
    #[command(subcommand)]
    User(users::UserCmd),
    /// Per-bucket hard quotas (bytes, object versions): set, get, clear (offline or via --endpoint).
    #[command(subcommand)]
    Quota(quota::QuotaCmd),
    /// Lifecycle rules: the plan of what they will remove and when; one pass now.
    #[command(subcommand)]
    Lifecycle(lifecycle::LifecycleCmd),
}

fn init_logging(json: bool) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("WORMGATE_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    if json {
        tracing_subscriber::fmt()
            .json()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .init();
    } else {
        tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .with_writer(std::io::stderr)
            .init();
    }
}

/// Parse the command line, run the command; returns the process exit code.
pub fn run() -> i32 {
    let cli = Cli::parse();
    let tools_logging = || {
        use tracing_subscriber::EnvFilter;
        let filter = EnvFilter::try_from_env("WORMGATE_LOG").unwrap_or_else(|_| EnvFilter::new("warn"));
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .with_writer(std::io::stderr)
            .try_init();
    };
    if matches!(cli.command, Command::Serve(_)) {
        crate::serve::cap_malloc_arenas();
    }
    let code = match cli.command {
        Command::Audit(c) => {
            tools_logging();
            evidence::audit(c)
        }
        Command::Scrub(a) => {
            tools_logging();
            evidence::scrub(&a)
        }
        Command::Report(a) => {
            tools_logging();
            evidence::report(&a)
        }
        Command::Recover(a) => {
            tools_logging();
            evidence::recover(&a)
        }
        Command::Time(c) => {
            tools_logging();
            evidence::time(c)
        }
        Command::Evidence(c) => {
            tools_logging();
            evidence_bundle::run(c)
        }
        Command::User(c) => {
            tools_logging();
            users::run(&c)
        }
        Command::Quota(c) => {
            tools_logging();
            quota::quota(c)
        }
        Command::Lifecycle(c) => {
            tools_logging();
            lifecycle::lifecycle(c)
        }
        Command::Serve(args) => match Config::load(&args) {
            Err(e) => {
                eprintln!("wormgate: {e}");
                2
            }
            Ok(cfg) => {
                init_logging(cfg.log_json);
                let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
                    Ok(rt) => rt,
                    Err(e) => {
                        eprintln!("wormgate: cannot start runtime: {e}");
                        std::process::exit(1);
                    }
                };
                match rt.block_on(crate::serve::run(cfg)) {
                    Ok(()) => 0,
                    Err(e) => {
                        eprintln!("wormgate: {e}");
                        1
                    }
                }
            }
        },
    };
    let _ = std::io::stdout().flush();
    code
}
