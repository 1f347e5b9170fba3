//! The `wormgate` command line.

use clap::{Parser, Subcommand};
use std::io::Write;
use wormgate::config::{Config, ServeArgs};
use wormgate::tools::cli as tools;

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
    Audit(tools::AuditCmd),
    /// Re-hash every stored version; report missing, corrupt and unreferenced blobs (exit 1 on missing/corrupt).
    Scrub(tools::ScrubArgs),
    /// Inventory of every version: key, version id, size, SHA-256, created, retain-until, legal hold.
    Report(tools::ReportArgs),
    /// Rebuild a lost or corrupt catalog from the stored version records (blob sidecars, or the upstream
    /// `.meta` objects in upstream mode) and the audit trail (gateway stopped).
    Recover(tools::RecoverArgs),
    /// Trusted time: status, and an officer's confirmation after a clock alarm.
    #[command(subcommand)]
    Time(tools::TimeCmd),
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

fn main() {
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
    let code = match cli.command {
        Command::Audit(c) => {
            tools_logging();
            tools::audit(c)
        }
        Command::Scrub(a) => {
            tools_logging();
            tools::scrub(a)
        }
        Command::Report(a) => {
            tools_logging();
            tools::report(a)
        }
        Command::Recover(a) => {
            tools_logging();
            tools::recover(a)
        }
        Command::Time(c) => {
            tools_logging();
            tools::time(c)
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
                match rt.block_on(wormgate::serve::run(cfg)) {
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
    std::process::exit(code);
}
