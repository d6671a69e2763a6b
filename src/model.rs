//! Model names: how a model name from the service (`gpt-4o-2024-08-06`) matches a family name
//! in a table (`gpt-4o`). Shared by token counting (which encoding) and pricing (which price).

/// True when `model` is `family` or a dated or numbered version of it (`gpt-4o-2024-08-06`,
/// `gpt-4-0613`). Strict on purpose, for prices: `gpt-4o-mini` is not a version of `gpt-4o`,
/// and a model missing from a price table must come out unpriced, not priced as a sibling.
pub fn is_version_of(model: &str, family: &str) -> bool {
    match strip_family(model, family) {
        Some(rest) => {
            rest.is_empty()
                || rest.strip_prefix('-').is_some_and(|v| v.starts_with(|c: char| c.is_ascii_digit()))
        }
        None => false,
    }
}

/// True when `model` is `family` or any variant of it (`gpt-4o-mini-2024-07-18` is a variant
/// of `gpt-4o`). Broad on purpose, for tokenizers, which variants of a family share; the
/// boundary still matters: `gpt-4o` is not a variant of `gpt-4`.
pub fn is_variant_of(model: &str, family: &str) -> bool {
    strip_family(model, family).is_some_and(|rest| rest.is_empty() || rest.starts_with('-'))
}

fn strip_family<'m>(model: &'m str, family: &str) -> Option<&'m str> {
    let head = model.get(..family.len())?;
    head.eq_ignore_ascii_case(family).then(|| &model[family.len()..])
}

/// The most specific family in `families` that `model` is a version of (for prices).
pub fn family<'f, I>(model: &str, families: I) -> Option<&'f str>
where
    I: IntoIterator<Item = &'f str>,
{
    families.into_iter().filter(|f| is_version_of(model, f)).max_by_key(|f| f.len())
}

/// The most specific family in `families` that `model` is a variant of (for tokenizers).
pub fn variant_family<'f, I>(model: &str, families: I) -> Option<&'f str>
where
    I: IntoIterator<Item = &'f str>,
{
    families.into_iter().filter(|f| is_variant_of(model, f)).max_by_key(|f| f.len())
}

/// Models that think before they answer: their reasoning tokens are billed as output but never
/// appear in a stream's text, so an estimate for them is a lower bound.
pub fn is_reasoning_model(model: &str) -> bool {
    const REASONING: &[&str] = &["o1", "o3", "o4-mini", "gpt-5", "codex-mini"];
    variant_family(model, REASONING.iter().copied()).is_some() && !is_variant_of(model, "gpt-5-chat")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_dated_or_numbered() {
        assert!(is_version_of("gpt-4-0613", "gpt-4"));
        assert!(is_version_of("gpt-4o-2024-08-06", "gpt-4o"));
        assert!(is_version_of("GPT-4o", "gpt-4o"));
        assert!(!is_version_of("gpt-4o", "gpt-4"));
        assert!(!is_version_of("gpt-4.1", "gpt-4"));
        assert!(!is_version_of("gpt-4o-mini", "gpt-4o"), "a sibling is not a version");
        let families = ["gpt-4o", "gpt-4o-mini", "gpt-4"];
        assert_eq!(family("gpt-4o-mini-2024-07-18", families), Some("gpt-4o-mini"));
        assert_eq!(family("gpt-4o-realtime-preview", families), None);
        assert_eq!(family("gpt-35-turbo", families), None);
    }

    #[test]
    fn variants_share_a_family() {
        assert!(is_variant_of("gpt-4o-mini-2024-07-18", "gpt-4o"));
        assert!(!is_variant_of("gpt-4o", "gpt-4"));
        assert_eq!(variant_family("gpt-4o-mini", ["gpt-4", "gpt-4o"]), Some("gpt-4o"));
    }

    #[test]
    fn reasoning_models() {
        assert!(is_reasoning_model("o3-mini-2025-01-31"));
        assert!(is_reasoning_model("gpt-5-2025-08-07"));
        assert!(!is_reasoning_model("gpt-5-chat-latest"));
        assert!(!is_reasoning_model("gpt-4o"));
    }
}
