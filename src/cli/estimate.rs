//! `chargeback estimate --model M --request FILE [--response FILE]`: count one call's tokens
//! as the pipeline would, and print them as one JSON object.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use serde_json::json;

use super::{Exit, UsageError, read_arg};
use crate::estimate::{Encoding, is_embedding_model, request, response};

#[derive(Debug, clap::Args)]
pub struct EstimateArgs {
    /// Model (or model family) the call went to, e.g. gpt-4o.
    #[arg(long)]
    model: String,
    /// Request body (JSON): chat messages and tools, completions prompt, embeddings input or
    /// Responses API input. `-` reads stdin.
    #[arg(long, value_name = "FILE")]
    request: PathBuf,
    /// Response: a JSON body or SSE text. `-` reads stdin.
    #[arg(long, value_name = "FILE")]
    response: Option<PathBuf>,
}

pub fn run(args: EstimateArgs) -> anyhow::Result<Exit> {
    let encoding = Encoding::for_model(&args.model)
        .ok_or_else(|| UsageError(format!("no known encoding for model {:?}", args.model)))?;
    let body: serde_json::Value = serde_json::from_str(&read_arg(&args.request)?)
        .with_context(|| format!("{} is not a JSON request body", args.request.display()))?;
    let prompt = request::count_prompt(&body, encoding, is_embedding_model(&args.model));
    let mut out = json!({
        "prompt_tokens": prompt.tokens,
        "total_tokens": prompt.tokens,
        "encoding": encoding.name(),
        "source": "estimated",
    });
    let mut complete = prompt.complete;
    if let Some(path) = &args.response {
        let text = response::read(&read_arg(path)?)
            .with_context(|| format!("cannot read response {}", path.display()))?;
        match text.usage {
            Some(usage) => {
                out["prompt_tokens"] = json!(usage.prompt);
                out["completion_tokens"] = json!(usage.completion);
                out["total_tokens"] = json!(usage.total());
                out["cached_tokens"] = json!(usage.cached);
                out["reasoning_tokens"] = json!(usage.reasoning);
                out["source"] = json!("usage");
                complete = true;
            }
            None => {
                let completion = text.count(encoding);
                out["completion_tokens"] = json!(completion);
                out["total_tokens"] = json!(prompt.tokens + completion);
                complete &= text.unreadable_lines == 0 && !crate::model::is_reasoning_model(&args.model);
            }
        }
    }
    // A lower bound: parts the rules do not cover, or reasoning that cannot be seen.
    out["lower_bound"] = json!(!complete);
    writeln!(std::io::stdout(), "{out}")?;
    Ok(Exit::Ok)
}
