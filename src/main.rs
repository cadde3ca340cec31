#![forbid(unsafe_code)]

fn main() {
    std::process::exit(decnet_sniffer::cli::main());
}
