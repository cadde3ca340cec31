#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    decnet_sniffer::cli::main()
}
