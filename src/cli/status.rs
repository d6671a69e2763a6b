//! `chargeback status [--json]`: the store, its months, checkpoints, Event Hubs lag and dead
//! letters (see [`crate::status`]).

use std::io::Write;

use super::Exit;
use crate::status::Status;
use crate::store::Store;

#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    /// Print JSON instead of the human table.
    #[arg(long)]
    json: bool,
}

pub fn run(args: StatusArgs, store: &Store) -> anyhow::Result<Exit> {
    let status = Status::gather(store)?;
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &status)?;
        writeln!(out)?;
    } else {
        write!(out, "{}", status.render_text())?;
    }
    Ok(Exit::Ok)
}
