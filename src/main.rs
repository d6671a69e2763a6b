//! The `chargeback` binary: parse arguments, run the command, print any error with its full
//! cause chain and a hint, and exit with a code that means something (see `cli::Exit`).

use clap::Parser;

fn main() {
    let args = aoai_chargeback::cli::Args::parse();
    let code = match aoai_chargeback::cli::run(args) {
        Ok(exit) => exit,
        Err(err) => aoai_chargeback::cli::report_error(&err),
    };
    std::process::exit(code as i32);
}
