//! The `wormgate` binary; the command line itself is `wormgate::cli`.

/// mimalloc instead of glibc's malloc: glibc keeps freed 1 MiB transfer buffers in its per-thread
/// arenas (its mmap threshold rises after the first free), so the gateway's RSS grew with every
/// large GET/PUT served; mimalloc hands freed pages back to the system.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    std::process::exit(wormgate::cli::run());
}
