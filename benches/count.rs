//! Token counting throughput: count every text of a file (one JSON string per line) with
//! o200k_base, one thread, and print texts/s, MB/s and tokens/s. Run by scripts/bench.sh,
//! which times Python's tiktoken on the same file beside it.
//!
//! cargo bench --bench count -- FILE

use std::time::Instant;

use aoai_chargeback::estimate::Encoding;

fn main() {
    let Some(path) = std::env::args().skip(1).find(|a| !a.starts_with("--")) else {
        eprintln!("usage: cargo bench --bench count -- FILE (scripts/bench.sh streamed makes one)");
        std::process::exit(2);
    };
    let texts: Vec<String> = std::fs::read_to_string(&path)
        .expect("read texts")
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON string per line"))
        .collect();
    let bytes: usize = texts.iter().map(String::len).sum();
    // Warm up: build the BPE tables outside the timed loop, as a long-running consumer would.
    Encoding::O200kBase.count("warm up");
    let mut best = f64::MAX;
    let mut tokens = 0;
    for _ in 0..3 {
        let start = Instant::now();
        tokens = texts.iter().map(|t| Encoding::O200kBase.count(t)).sum::<u64>();
        best = best.min(start.elapsed().as_secs_f64());
    }
    println!(
        "rust tiktoken-rs: {} texts, {:.1} MB, {} tokens in {:.3}s (best of 3): {:.0} texts/s, {:.2} MB/s, {:.0} tokens/s",
        texts.len(),
        bytes as f64 / 1e6,
        tokens,
        best,
        texts.len() as f64 / best,
        bytes as f64 / 1e6 / best,
        tokens as f64 / best
    );
}
