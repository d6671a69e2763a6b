//! Model names: how a model name from the service (`gpt-4o-2024-08-06`) matches a family name
//! in a table (`gpt-4o`). Shared by token counting (which encoding) and pricing (which price).

/// True when `model` is `family` or a version of it (`family-...`). The boundary matters:
/// `gpt-4o` is not a version of `gpt-4`, but `gpt-4-0613` is.
pub fn is_version_of(model: &str, family: &str) -> bool {
    model.len() >= family.len()
        && model[..family.len()].eq_ignore_ascii_case(family)
        && (model.len() == family.len() || model.as_bytes()[family.len()] == b'-')
}

/// The most specific family in `families` that `model` belongs to: `gpt-4o-mini-2024-07-18`
/// is `gpt-4o-mini`, not `gpt-4o`.
pub fn family<'f, I>(model: &str, families: I) -> Option<&'f str>
where
    I: IntoIterator<Item = &'f str>,
{
    families.into_iter().filter(|f| is_version_of(model, f)).max_by_key(|f| f.len())
}

/// Models that think before they answer: their reasoning tokens are billed as output but never
/// appear in a stream's text, so an estimate for them is a lower bound.
pub fn is_reasoning_model(model: &str) -> bool {
    const REASONING: &[&str] = &["o1", "o3", "o4-mini", "gpt-5", "codex-mini"];
    family(model, REASONING.iter().copied()).is_some() && !is_version_of(model, "gpt-5-chat")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_match_on_a_dash_boundary() {
        assert!(is_version_of("gpt-4-0613", "gpt-4"));
        assert!(!is_version_of("gpt-4o", "gpt-4"));
        assert!(!is_version_of("gpt-4.1", "gpt-4"));
        assert!(is_version_of("GPT-4o", "gpt-4o"));
        let families = ["gpt-4o", "gpt-4o-mini", "gpt-4"];
        assert_eq!(family("gpt-4o-mini-2024-07-18", families), Some("gpt-4o-mini"));
        assert_eq!(family("gpt-4-32k", families), Some("gpt-4"));
        assert_eq!(family("gpt-35-turbo", families), None);
    }

    #[test]
    fn reasoning_models() {
        assert!(is_reasoning_model("o3-mini-2025-01-31"));
        assert!(is_reasoning_model("gpt-5-2025-08-07"));
        assert!(!is_reasoning_model("gpt-5-chat-latest"));
        assert!(!is_reasoning_model("gpt-4o"));
    }
}
