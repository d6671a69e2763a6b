//! `chargeback serve [--listen ADDR]`: the read-only report server (see `crate::serve`).

use std::net::SocketAddr;
use std::path::Path;

use super::Exit;
use crate::config::Config;
use crate::store::Store;

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on (port 0 picks a free port). Default: the config's [serve] listen,
    /// 127.0.0.1:8080.
    #[arg(long, value_name = "ADDR")]
    listen: Option<SocketAddr>,
}

pub fn run(args: ServeArgs, config: Config, store_path: &Path) -> anyhow::Result<Exit> {
    let listen = args.listen.unwrap_or(config.serve.listen);
    let token = crate::serve::token(&config.serve, listen)?;
    // Open once normally: the store must exist, and is migrated and checked before any request
    // opens it read-only.
    drop(Store::open_existing(store_path, config.billing_time_zone.name(), config.dedupe_window_days)?);
    crate::serve::run(config, store_path.to_owned(), listen, token)?;
    Ok(Exit::Ok)
}
