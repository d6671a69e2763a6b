//! `chargeback dead-letters list|replay`.

use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};
use std::io::Write;

use super::Exit;
use crate::config::Config;
use crate::pipeline::Pipeline;
use crate::replay::replay;
use crate::report::render::thousands;
use crate::store::Store;

#[derive(Debug, clap::Subcommand)]
pub enum DeadLettersCommand {
    /// List the dead letters: reason, source and position of each.
    List {
        #[arg(long, value_enum, default_value = "table")]
        format: ListFormat,
    },
    /// Read each dead letter again from its source and count it if it now decodes (after a
    /// config fix); those that still fail stay, with their new reason.
    Replay,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ListFormat {
    Table,
    Json,
}

pub fn run(command: DeadLettersCommand, config: &Config, mut store: Store) -> anyhow::Result<Exit> {
    match command {
        DeadLettersCommand::List { format } => {
            let letters = store.dead_letters()?;
            match format {
                ListFormat::Json => {
                    writeln!(std::io::stdout(), "{}", serde_json::to_string_pretty(&letters)?)?
                }
                ListFormat::Table => {
                    let mut table = Table::new();
                    table.load_preset(UTF8_FULL_CONDENSED);
                    table.set_header(["id", "source", "position", "reason"]);
                    for l in &letters {
                        table.add_row([
                            l.id.to_string(),
                            l.source.clone(),
                            l.position.to_string(),
                            l.reason.clone(),
                        ]);
                    }
                    writeln!(std::io::stdout(), "{table}")?;
                    writeln!(std::io::stdout(), "{} dead letters", thousands(letters.len() as u64))?;
                }
            }
        }
        DeadLettersCommand::Replay => {
            let mut pipeline = Pipeline::new(config);
            let outcome = replay(&mut store, &mut pipeline)?;
            writeln!(
                std::io::stdout(),
                "{} replayed: {} now counted ({} were duplicates), {} still dead, {} unreadable at their source",
                thousands(outcome.replayed),
                thousands(outcome.committed.accepted),
                thousands(outcome.committed.duplicates),
                thousands(outcome.still_dead),
                thousands(outcome.unreadable),
            )?;
        }
    }
    Ok(Exit::Ok)
}
