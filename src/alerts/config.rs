//! Budget-alert configuration: `[[budgets]]` rules, `[channels.NAME]` delivery channels and the
//! `[alerts]` delivery settings, with their validation. Owns the meaning of every field; hides
//! nothing else. Secrets (webhook HMAC secret, SMTP password) are never inline: only the name of
//! an environment variable or a file holding them, read when a message is sent.

use std::collections::BTreeMap;
use std::path::PathBuf;

use rust_decimal::Decimal;
use serde::Deserialize;

use crate::config::{Config, ConfigError};

/// What a budget measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Measure {
    /// Total tokens (prompt + completion).
    Tokens,
    /// Priced cost in the config's currency (unpriced tokens add nothing).
    Cost,
}

/// One budget rule.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BudgetRule {
    /// Unique, stable name: part of the outbox key (rule, month, level), so renaming a rule
    /// makes its thresholds fire again. Required.
    pub name: String,
    /// Client (config name under `[clients]`) the budget covers. Omitted: every client.
    pub client: Option<String>,
    /// Deployment (name under `[deployments]`) the budget covers. Omitted: every deployment.
    pub deployment: Option<String>,
    /// `tokens` or `cost`. Required.
    pub measure: Measure,
    /// Monthly limit: a decimal in the currency for `cost`, a whole number for `tokens`;
    /// written as a string or a number. Must be > 0. Required.
    pub limit: Decimal,
    /// Percent levels that fire once each per month. Default [50, 80, 100].
    #[serde(default = "default_levels")]
    pub levels: Vec<u32>,
    /// Who to tell (e-mail addresses). Default: the client's `owners`; required when the
    /// rule names no client.
    #[serde(default)]
    pub owners: Vec<String>,
    /// Names of `[channels.NAME]` to deliver through. Default none (alerts are recorded and
    /// listed by `chargeback alerts list`, not sent).
    #[serde(default)]
    pub channels: Vec<String>,
    /// Send one "projected to reach 100% on <date>" alert per month. Default true.
    #[serde(default = "yes")]
    pub forecast: bool,
}

fn default_levels() -> Vec<u32> {
    vec![50, 80, 100]
}

fn yes() -> bool {
    true
}

/// Kind of delivery channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChannelKind {
    /// Generic JSON webhook, signed with HMAC-SHA256.
    Webhook,
    /// Slack incoming webhook.
    Slack,
    /// Microsoft Teams incoming webhook (Adaptive Card).
    Teams,
    /// E-mail over SMTP with STARTTLS and AUTH.
    Email,
}

/// One delivery channel. Which fields apply depends on `kind`; others are refused.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelConfig {
    /// `webhook`, `slack`, `teams` or `email`. Required.
    pub kind: ChannelKind,
    /// Webhook URL (webhook, slack, teams). Required for those kinds.
    pub url: Option<String>,
    /// Webhook: environment variable holding the HMAC-SHA256 secret.
    pub secret_env: Option<String>,
    /// Webhook: file holding the HMAC-SHA256 secret (trailing newline ignored).
    pub secret_file: Option<PathBuf>,
    /// Email: SMTP server host name. Required for email.
    pub host: Option<String>,
    /// Email: SMTP submission port. Default 587.
    pub port: Option<u16>,
    /// Email: SMTP user name for AUTH. Required for email.
    pub username: Option<String>,
    /// Email: environment variable holding the SMTP password.
    pub password_env: Option<String>,
    /// Email: file holding the SMTP password (trailing newline ignored).
    pub password_file: Option<PathBuf>,
    /// Email: sender address. Required for email.
    pub from: Option<String>,
    /// Email: recipients instead of the rule's owners. Default: the rule's owners.
    #[serde(default)]
    pub to: Vec<String>,
    /// Email: PEM file of an extra CA to trust (a private CA). Default: the system roots.
    pub ca_file: Option<PathBuf>,
}

/// Delivery settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AlertsConfig {
    /// Attempts per delivery before it is marked `failed`. Default 8 (about 4 minutes of
    /// retries with the default backoff).
    pub max_attempts: u32,
    /// Delay before the first retry, in milliseconds; doubled each retry, plus up to 20%
    /// jitter. Default 2,000.
    pub initial_backoff_ms: u64,
    /// Longest delay between retries, in milliseconds. Default 300,000 (5 minutes).
    pub max_backoff_ms: u64,
    /// How often a watching dispatcher polls the outbox, in milliseconds. Default 250.
    pub poll_interval_ms: u64,
    /// Timeout of one delivery attempt (HTTP request or SMTP session), in milliseconds.
    /// Default 10,000.
    pub request_timeout_ms: u64,
}

impl Default for AlertsConfig {
    fn default() -> Self {
        AlertsConfig {
            max_attempts: 8,
            initial_backoff_ms: 2_000,
            max_backoff_ms: 300_000,
            poll_interval_ms: 250,
            request_timeout_ms: 10_000,
        }
    }
}

fn invalid(field: impl Into<String>, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid { field: field.into(), message: message.into() }
}

/// Check every budget, channel and delivery setting; errors name the field.
pub fn validate(config: &Config) -> Result<(), ConfigError> {
    let a = &config.alerts;
    if a.max_attempts == 0 {
        return Err(invalid("alerts.max_attempts", "must be at least 1"));
    }
    if a.initial_backoff_ms == 0 || a.max_backoff_ms < a.initial_backoff_ms {
        return Err(invalid("alerts.max_backoff_ms", "must be >= alerts.initial_backoff_ms > 0"));
    }
    if a.poll_interval_ms == 0 || a.request_timeout_ms == 0 {
        return Err(invalid("alerts.poll_interval_ms", "poll interval and request timeout must be > 0"));
    }
    for (name, ch) in &config.channels {
        validate_channel(name, ch)?;
    }
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, rule) in config.budgets.iter().enumerate() {
        let f = |field: &str| format!("budgets[{i}].{field}");
        if rule.name.trim().is_empty() {
            return Err(invalid(f("name"), "empty"));
        }
        if let Some(j) = seen.insert(&rule.name, i) {
            return Err(invalid(f("name"), format!("{:?} is also the name of budgets[{j}]", rule.name)));
        }
        if let Some(client) = &rule.client
            && !config.clients.contains_key(client)
        {
            return Err(invalid(f("client"), format!("{client:?} is not a client under [clients]")));
        }
        if let Some(dep) = &rule.deployment
            && !config.deployments.contains_key(dep)
        {
            return Err(invalid(f("deployment"), format!("{dep:?} is not a deployment under [deployments]")));
        }
        if rule.limit <= Decimal::ZERO {
            return Err(invalid(f("limit"), "must be greater than 0"));
        }
        if rule.measure == Measure::Tokens && !rule.limit.fract().is_zero() {
            return Err(invalid(f("limit"), "a token limit is a whole number"));
        }
        if rule.levels.is_empty() {
            return Err(invalid(f("levels"), "lists no level"));
        }
        if let Some(l) = rule.levels.iter().find(|l| **l == 0 || **l > 1000) {
            return Err(invalid(f("levels"), format!("{l} is not a percent between 1 and 1000")));
        }
        for (k, ch) in rule.channels.iter().enumerate() {
            if !config.channels.contains_key(ch) {
                return Err(invalid(
                    f(&format!("channels[{k}]")),
                    format!("{ch:?} is not a channel under [channels]"),
                ));
            }
        }
        if rule.client.is_none() && rule.owners.is_empty() {
            return Err(invalid(f("owners"), "required when the rule names no client"));
        }
    }
    Ok(())
}

fn validate_channel(name: &str, ch: &ChannelConfig) -> Result<(), ConfigError> {
    let f = |field: &str| format!("channels.{name}.{field}");
    let http = matches!(ch.kind, ChannelKind::Webhook | ChannelKind::Slack | ChannelKind::Teams);
    let email_fields = ch.host.is_some()
        || ch.port.is_some()
        || ch.username.is_some()
        || ch.password_env.is_some()
        || ch.password_file.is_some()
        || ch.from.is_some()
        || !ch.to.is_empty()
        || ch.ca_file.is_some();
    if http {
        let url = ch.url.as_deref().ok_or_else(|| invalid(f("url"), "required for this kind"))?;
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            return Err(invalid(f("url"), "not an http(s) URL"));
        }
        if email_fields {
            return Err(invalid(f("kind"), "SMTP fields are only for kind = \"email\""));
        }
        let secret = ch.secret_env.is_some() || ch.secret_file.is_some();
        if ch.kind == ChannelKind::Webhook && !secret {
            return Err(invalid(f("secret_env"), "a webhook needs secret_env or secret_file (HMAC key)"));
        }
        if ch.kind != ChannelKind::Webhook && secret {
            return Err(invalid(f("secret_env"), "only a generic webhook is signed"));
        }
    } else {
        if ch.url.is_some() || ch.secret_env.is_some() || ch.secret_file.is_some() {
            return Err(invalid(f("url"), "url and secret are not for kind = \"email\""));
        }
        for (field, v) in [("host", &ch.host), ("username", &ch.username), ("from", &ch.from)] {
            if v.as_deref().is_none_or(|v| v.trim().is_empty()) {
                return Err(invalid(f(field), "required for kind = \"email\""));
            }
        }
        if ch.password_env.is_none() && ch.password_file.is_none() {
            return Err(invalid(f("password_env"), "email needs password_env or password_file"));
        }
    }
    Ok(())
}

/// Read a secret from an environment variable or a file, whichever is configured.
pub fn read_secret(env: Option<&str>, file: Option<&std::path::Path>) -> Result<String, String> {
    if let Some(var) = env {
        return std::env::var(var).map_err(|_| format!("environment variable {var} is not set"));
    }
    if let Some(path) = file {
        return std::fs::read_to_string(path)
            .map(|s| s.trim_end_matches(['\r', '\n']).to_owned())
            .map_err(|e| format!("cannot read {}: {e}", path.display()));
    }
    Err("no secret configured".to_owned())
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    const BASE: &str =
        "[clients.team-a]\nowners = [\"a@example.com\"]\n[deployments.gpt4o]\nmodel = \"gpt-4o\"\n";

    fn err(extra: &str) -> String {
        Config::parse(&format!("{BASE}{extra}")).unwrap_err().to_string()
    }

    #[test]
    fn a_valid_rule_gets_defaults() {
        let c = Config::parse(&format!(
            "{BASE}[[budgets]]\nname = \"a\"\nclient = \"team-a\"\nmeasure = \"cost\"\nlimit = \"100.50\"\n"
        ))
        .unwrap();
        assert_eq!(c.budgets[0].levels, vec![50, 80, 100]);
        assert!(c.budgets[0].forecast);
    }

    #[test]
    fn bad_rules_name_the_field() {
        let rule = "[[budgets]]\nname = \"a\"\nmeasure = \"cost\"\n";
        let e = err(&format!("{rule}client = \"nobody\"\nlimit = 1\n"));
        assert!(e.contains("budgets[0].client") && e.contains("nobody"), "{e}");
        let e = err(&format!("{rule}client = \"team-a\"\nlimit = 0\n"));
        assert!(e.contains("budgets[0].limit"), "{e}");
        let e = err(&format!("{rule}client = \"team-a\"\nlimit = 1\nlevels = []\n"));
        assert!(e.contains("budgets[0].levels"), "{e}");
        let e = err(&format!("{rule}client = \"team-a\"\nlimit = 1\nchannels = [\"nope\"]\n"));
        assert!(e.contains("budgets[0].channels[0]"), "{e}");
        let e = err(&format!("{rule}deployment = \"x\"\nlimit = 1\nowners = [\"o@x\"]\n"));
        assert!(e.contains("budgets[0].deployment"), "{e}");
        let e = err(&format!("{rule}limit = 1\n"));
        assert!(e.contains("budgets[0].owners"), "{e}");
        let e =
            err("[[budgets]]\nname = \"a\"\nmeasure = \"tokens\"\nclient = \"team-a\"\nlimit = \"1.5\"\n");
        assert!(e.contains("budgets[0].limit"), "{e}");
    }

    #[test]
    fn channels_are_checked_by_kind() {
        let e = err("[channels.x]\nkind = \"webhook\"\nurl = \"https://h/\"\n");
        assert!(e.contains("channels.x.secret_env"), "{e}");
        let e = err("[channels.x]\nkind = \"email\"\nhost = \"h\"\nusername = \"u\"\nfrom = \"f@x\"\n");
        assert!(e.contains("channels.x.password_env"), "{e}");
        let e = err("[channels.x]\nkind = \"slack\"\nurl = \"https://h/\"\npassword = \"p\"\n");
        assert!(e.contains("password"), "{e}");
    }
}
