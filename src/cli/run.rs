//! `decnet-sniffer run`: the daemon (placeholder until live capture lands).

use clap::Args;

use super::{DeckyArgs, LimitArgs, OutputArgs};

#[derive(Args, Debug)]
pub struct RunArgs {
    /// Interface to capture on (default: SPEC section 2's selection order).
    #[arg(long, value_name = "IFACE")]
    pub iface: Option<String>,
    #[command(flatten)]
    pub deckies: DeckyArgs,
    #[command(flatten)]
    pub limits: LimitArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

pub fn run(_args: RunArgs) -> i32 {
    super::error("`run` (live capture) is not implemented yet; use `read`");
    2
}
