//! The `wormgate` binary; the command line itself is `wormgate::cli`.

fn main() {
    std::process::exit(wormgate::cli::run());
}
