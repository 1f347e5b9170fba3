//! The `wormgate` command line.

use clap::{Parser, Subcommand};
use std::io::Write;
use wormgate::config::{Config, ServeArgs};

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
enum Command {
    /// Run the gateway.
    Serve(ServeArgs),
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
            .with_writer(std::io::stderr)
            .init();
    }
}

fn main() {
    let cli = Cli::parse();
    let code = match cli.command {
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
