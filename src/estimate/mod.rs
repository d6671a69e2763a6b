//! Token counting for calls whose response carried no usage (streamed without
//! `include_usage`), by the published rules that reproduce the service's own numbers.
//!
//! * [`Encoding::for_model`] picks the BPE by model family (o200k_base for gpt-4o, gpt-4.1,
//!   gpt-5 and the o-series; cl100k_base for gpt-4, gpt-3.5 and the embedding models).
//! * [`request`] counts the prompt: 3 tokens per chat message, 1 per name, 3 to prime the
//!   reply, tool definitions by the function-calling rule.
//! * [`response`] reads a response (JSON body or SSE text): a usage it carries wins over any
//!   estimate; otherwise the completion is counted on the joined text of all deltas.
//!
//! Pure: no I/O. The BPE tables are compiled into the binary by `tiktoken-rs`.

pub mod request;
pub mod response;

use tiktoken_rs::CoreBPE;

use crate::model;

/// A byte-pair encoding the service uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    O200kBase,
    Cl100kBase,
}

/// Model families and their encodings; every variant of a family (`gpt-4o-mini`,
/// `o3-mini-2025-01-31`) shares its encoding, the most specific family winning.
const FAMILIES: &[(&str, Encoding)] = &[
    ("gpt-4o", Encoding::O200kBase),
    ("chatgpt-4o", Encoding::O200kBase),
    ("gpt-4.1", Encoding::O200kBase),
    ("gpt-4.5", Encoding::O200kBase),
    ("gpt-5", Encoding::O200kBase),
    ("o1", Encoding::O200kBase),
    ("o3", Encoding::O200kBase),
    ("o4-mini", Encoding::O200kBase),
    ("codex-mini", Encoding::O200kBase),
    ("computer-use-preview", Encoding::O200kBase),
    ("gpt-4", Encoding::Cl100kBase),
    ("gpt-35-turbo", Encoding::Cl100kBase),
    ("gpt-3.5-turbo", Encoding::Cl100kBase),
    ("text-embedding-ada-002", Encoding::Cl100kBase),
    ("text-embedding-3-small", Encoding::Cl100kBase),
    ("text-embedding-3-large", Encoding::Cl100kBase),
];

impl Encoding {
    /// The encoding of a model, or `None` for a model this build does not know.
    pub fn for_model(model: &str) -> Option<Encoding> {
        let family = model::variant_family(model, FAMILIES.iter().map(|(f, _)| *f))?;
        FAMILIES.iter().find(|(f, _)| *f == family).map(|(_, e)| *e)
    }

    pub fn name(self) -> &'static str {
        match self {
            Encoding::O200kBase => "o200k_base",
            Encoding::Cl100kBase => "cl100k_base",
        }
    }

    fn bpe(self) -> &'static CoreBPE {
        match self {
            Encoding::O200kBase => tiktoken_rs::o200k_base_singleton(),
            Encoding::Cl100kBase => tiktoken_rs::cl100k_base_singleton(),
        }
    }

    /// Tokens in `text`, special tokens treated as ordinary text (as the service does for
    /// user content).
    pub fn count(self, text: &str) -> u64 {
        if text.is_empty() {
            return 0;
        }
        self.bpe().encode_ordinary(text).len() as u64
    }

    /// The extra tokens the function-calling rule adds per function; the older cl100k models
    /// wrap each definition in more framing than the o200k ones.
    fn function_init(self) -> i64 {
        match self {
            Encoding::O200kBase => 7,
            Encoding::Cl100kBase => 10,
        }
    }
}

/// True for the embedding models, whose `input` is counted without any chat framing.
pub fn is_embedding_model(model: &str) -> bool {
    model.to_ascii_lowercase().starts_with("text-embedding")
}
