fn main() -> std::process::ExitCode {
    vane::cli::run()
}
