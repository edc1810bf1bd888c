/// mimalloc rather than the system allocator: a page render and an import
/// batch make and free many small strings, and glibc's allocator took a
/// fifth of the request threads' time under load (see README, Benchmarks).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    maillage::cli::main()
}
