//! The configuration file (TOML): every field documented, unknown fields refused, and every
//! field defaulted so that `chargeback` runs with no file at all.
//!
//! Errors name the field (and, for syntax and type errors, the line and column) so that a bad
//! config fails at start, before any event is read. See `fixtures/config.toml` for a commented
//! example.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use chrono_tz::Tz;
use serde::Deserialize;

use crate::event::DecodeOptions;
use crate::event::legacy::DEFAULT_TIMESTAMP_FORMATS;
use crate::price::{PriceRow, PriceTable};

/// Smallest dedupe window: a month plus a few days of grace for late events.
pub const MIN_DEDUPE_WINDOW_DAYS: u32 = 35;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// SQLite store path. `--store` and `CHARGEBACK_STORE` take precedence. Default
    /// `chargeback.db` in the working directory.
    pub store: Option<PathBuf>,
    /// IANA time zone in which billing days and months are cut (`Europe/Paris`). Default UTC.
    /// Fixed once a store holds totals: changing it would split days differently.
    pub billing_time_zone: Tz,
    /// ISO 4217 currency of every price. Default `USD` (the shipped table's); any other
    /// currency needs its own `[[prices]]`.
    pub currency: String,
    /// How many days a request id is remembered for dedupe, counted back from the newest event
    /// committed. Events older than that are dead-lettered, never counted blind. Default 90,
    /// at least 35.
    pub dedupe_window_days: u32,
    /// File ingestion settings.
    pub ingest: IngestConfig,
    /// How to read events in the legacy shape.
    pub legacy: LegacyConfig,
    /// Clients by name: which APIM subscriptions and legacy keys they own.
    pub clients: BTreeMap<String, ClientConfig>,
    /// Deployments by name: the model behind each, for events that do not name one.
    pub deployments: BTreeMap<String, DeploymentConfig>,
    /// Prices per 1M tokens; a model listed here replaces all shipped prices of that model.
    pub prices: Vec<PriceRow>,
    /// How provisioned (PTU) deployments' fixed monthly cost is shared among their clients.
    pub provisioned: ProvisionedConfig,
    /// The read-only report server, `chargeback serve`.
    pub serve: ServeConfig,
    /// Telemetry: metric cardinality caps and health endpoints (OTLP itself is configured by
    /// the standard `OTEL_*` variables only).
    pub telemetry: crate::telemetry::TelemetryConfig,
    /// Budget rules (`[[budgets]]`); see `alerts::config::BudgetRule`. Default none.
    pub budgets: Vec<crate::alerts::config::BudgetRule>,
    /// Alert delivery channels by name (`[channels.NAME]`). Default none.
    pub channels: BTreeMap<String, crate::alerts::config::ChannelConfig>,
    /// Alert delivery settings (`[alerts]`): retries, backoff, polling.
    pub alerts: crate::alerts::config::AlertsConfig,
}

/// `chargeback serve` settings (issue 7).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServeConfig {
    /// Address and port to listen on. Default `127.0.0.1:8080`. Any address that is not
    /// loopback requires a bearer token: the server refuses to start without one.
    pub listen: std::net::SocketAddr,
    /// Name of the environment variable that holds the bearer token. Default
    /// `CHARGEBACK_SERVE_TOKEN`. When it is set, requests must carry it even on loopback.
    pub token_env: String,
    /// File whose first line is the bearer token; takes precedence over `token_env`. Default
    /// none.
    pub token_file: Option<PathBuf>,
}

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig {
            listen: std::net::SocketAddr::from(([127, 0, 0, 1], 8080)),
            token_env: "CHARGEBACK_SERVE_TOKEN".to_owned(),
            token_file: None,
        }
    }
}

/// Token weights for allocating a provisioned deployment's monthly cost (issue 7). A client's
/// share is its weighted tokens over all clients' weighted tokens on that deployment that
/// month. Defaults follow Azure's PTU utilization rules: an output token uses about 4 times the
/// capacity of an input token, cached input tokens are discounted up to 100% (see README).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProvisionedConfig {
    /// Weight of an uncached input (prompt) token. Default 1.
    pub input_weight: rust_decimal::Decimal,
    /// Weight of a cached input token. Default 0 (Azure discounts them up to 100% on PTU).
    pub cached_input_weight: rust_decimal::Decimal,
    /// Weight of an output (completion, reasoning included) token. Default 4.
    pub output_weight: rust_decimal::Decimal,
}

impl Default for ProvisionedConfig {
    fn default() -> Self {
        ProvisionedConfig {
            input_weight: rust_decimal::Decimal::ONE,
            cached_input_weight: rust_decimal::Decimal::ZERO,
            output_weight: rust_decimal::Decimal::from(4),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IngestConfig {
    /// Events per committed batch (one SQLite transaction each). Larger batches ingest faster
    /// and lose more work to a crash (it is redone, never double counted). Default 100,000.
    pub batch_size: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LegacyConfig {
    /// Deployment that legacy events (which name none) are charged to. Default `unknown`.
    pub deployment: String,
    /// chrono formats tried in order for the culture-formatted `Timestamp`, after ISO-8601.
    /// Default: .NET en-US then invariant culture. Day-first cultures must be listed here.
    pub timestamp_formats: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClientConfig {
    /// Cost center finance charges this client to.
    pub cost_center: Option<String>,
    /// Who owns the client (e-mail addresses); told about budgets.
    pub owners: Vec<String>,
    /// APIM subscription ids of this client.
    pub subscriptions: Vec<String>,
    /// Legacy subscription keys of this client, as lowercase hex SHA-256
    /// (`printf %s "$KEY" | sha256sum`, or `chargeback key-hash`). Never the key itself.
    pub key_sha256: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeploymentConfig {
    /// Model behind the deployment (`gpt-4o`, `gpt-4o-2024-08-06`).
    pub model: String,
    /// Fixed monthly cost of a provisioned (PTU) deployment, in `currency`, at most 2 decimal
    /// places (`"12000.00"`). Allocated to the month's clients by weighted tokens. Default:
    /// none (pay-as-you-go).
    pub provisioned_monthly_cost: Option<rust_decimal::Decimal>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            store: None,
            billing_time_zone: Tz::UTC,
            currency: "USD".to_owned(),
            dedupe_window_days: 90,
            ingest: IngestConfig::default(),
            legacy: LegacyConfig::default(),
            clients: BTreeMap::new(),
            deployments: BTreeMap::new(),
            prices: Vec::new(),
            provisioned: ProvisionedConfig::default(),
            serve: ServeConfig::default(),
            telemetry: Default::default(),
            budgets: Vec::new(),
            channels: BTreeMap::new(),
            alerts: crate::alerts::config::AlertsConfig::default(),
        }
    }
}

impl Default for IngestConfig {
    fn default() -> Self {
        IngestConfig { batch_size: 100_000 }
    }
}

impl Default for LegacyConfig {
    fn default() -> Self {
        LegacyConfig {
            deployment: "unknown".to_owned(),
            timestamp_formats: DEFAULT_TIMESTAMP_FORMATS.iter().map(|f| f.to_string()).collect(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("config file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("config field `{field}`: {message}")]
    Invalid { field: String, message: String },
}

fn invalid(field: impl Into<String>, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid { field: field.into(), message: message.into() }
}

/// Who a client is, for reports and alerts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientInfo {
    pub name: String,
    pub cost_center: Option<String>,
}

impl Config {
    /// Read and validate a config file; `None` gives the embedded defaults.
    pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
        let Some(path) = path else { return Ok(Config::default()) };
        let text = std::fs::read_to_string(path)
            .map_err(|source| ConfigError::Read { path: path.to_owned(), source })?;
        Config::parse(&text).map_err(|e| match e {
            ConfigError::Parse { message, .. } => ConfigError::Parse { path: path.to_owned(), message },
            other => other,
        })
    }

    /// Parse and validate config text.
    pub fn parse(text: &str) -> Result<Config, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: PathBuf::new(),
            message: e.to_string().trim_end().to_owned(),
        })?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let currency = &self.currency;
        if currency.len() != 3 || !currency.chars().all(|c| c.is_ascii_uppercase()) {
            return Err(invalid("currency", format!("{currency:?} is not an ISO 4217 code like USD")));
        }
        if self.dedupe_window_days < MIN_DEDUPE_WINDOW_DAYS {
            return Err(invalid(
                "dedupe_window_days",
                format!(
                    "{} is shorter than a month plus grace ({MIN_DEDUPE_WINDOW_DAYS})",
                    self.dedupe_window_days
                ),
            ));
        }
        if !(1..=1_000_000).contains(&self.ingest.batch_size) {
            return Err(invalid("ingest.batch_size", "must be between 1 and 1,000,000"));
        }
        if self.legacy.deployment.trim().is_empty() {
            return Err(invalid("legacy.deployment", "empty"));
        }
        if self.legacy.timestamp_formats.is_empty() {
            return Err(invalid("legacy.timestamp_formats", "lists no format"));
        }
        self.telemetry.validate().map_err(|(field, message)| invalid(field, message))?;
        let mut owner: HashMap<String, &str> = HashMap::new();
        for (name, client) in &self.clients {
            if name.trim().is_empty() {
                return Err(invalid("clients", "a client has an empty name"));
            }
            for (i, id) in client.subscriptions.iter().enumerate() {
                let field = format!("clients.{name}.subscriptions[{i}]");
                claim(&mut owner, format!("sub:{}", id.trim()), name, &field)?;
            }
            for (i, hash) in client.key_sha256.iter().enumerate() {
                let field = format!("clients.{name}.key_sha256[{i}]");
                if hash.len() != 64 || !hash.chars().all(|c| c.is_ascii_hexdigit()) {
                    return Err(invalid(
                        field,
                        "not a hex SHA-256 (64 characters); hash the key, never paste it",
                    ));
                }
                claim(&mut owner, format!("key:{}", hash.to_ascii_lowercase()), name, &field)?;
            }
        }
        for (name, deployment) in &self.deployments {
            if deployment.model.trim().is_empty() {
                return Err(invalid(format!("deployments.{name}.model"), "empty"));
            }
            if let Some(cost) = deployment.provisioned_monthly_cost
                && (cost.is_sign_negative() || cost.scale() > 2 && cost.normalize().scale() > 2)
            {
                return Err(invalid(
                    format!("deployments.{name}.provisioned_monthly_cost"),
                    format!("{cost} is not a non-negative amount in cents like \"12000.00\""),
                ));
            }
        }
        if self.serve.token_env.trim().is_empty() {
            return Err(invalid("serve.token_env", "empty"));
        }
        let w = &self.provisioned;
        for (field, weight) in [
            ("provisioned.input_weight", w.input_weight),
            ("provisioned.cached_input_weight", w.cached_input_weight),
            ("provisioned.output_weight", w.output_weight),
        ] {
            if weight.is_sign_negative() {
                return Err(invalid(field, format!("{weight} is negative")));
            }
        }
        if w.input_weight.is_zero() && w.cached_input_weight.is_zero() && w.output_weight.is_zero() {
            return Err(invalid("provisioned", "every weight is zero"));
        }
        for (i, row) in self.prices.iter().enumerate() {
            let field = format!("prices[{i}]");
            if row.model.trim().is_empty() {
                return Err(invalid(format!("{field}.model"), "empty"));
            }
            let negative = [Some(row.input), row.cached_input, Some(row.output)]
                .into_iter()
                .flatten()
                .any(|p| p.is_sign_negative());
            if negative {
                return Err(invalid(field, "a price is negative"));
            }
            let duplicate = self.prices[..i]
                .iter()
                .any(|r| r.model.eq_ignore_ascii_case(&row.model) && r.effective == row.effective);
            if duplicate {
                return Err(invalid(
                    field,
                    format!("{} has two prices effective {}", row.model, row.effective),
                ));
            }
        }
        crate::alerts::config::validate(self)?;
        Ok(())
    }

    /// Options the event decoder needs.
    pub fn decode_options(&self) -> DecodeOptions {
        DecodeOptions {
            legacy_timestamp_formats: self.legacy.timestamp_formats.clone(),
            legacy_deployment: self.legacy.deployment.clone(),
        }
    }

    /// The price table: shipped prices with this config's overrides.
    pub fn price_table(&self) -> PriceTable {
        PriceTable::new(&self.currency, &self.prices)
    }

    /// The model configured for a deployment.
    pub fn deployment_model(&self, deployment: &str) -> Option<&str> {
        self.deployments.get(deployment).map(|d| d.model.as_str())
    }

    /// Map of stored caller identities (`sub:<id>`, `key:<sha256>`) to clients.
    pub fn client_directory(&self) -> ClientDirectory {
        let mut by_identity = HashMap::new();
        for (name, client) in &self.clients {
            let info = ClientInfo { name: name.clone(), cost_center: client.cost_center.clone() };
            for id in &client.subscriptions {
                by_identity.insert(format!("sub:{}", id.trim()), info.clone());
            }
            for hash in &client.key_sha256 {
                by_identity.insert(format!("key:{}", hash.to_ascii_lowercase()), info.clone());
            }
        }
        ClientDirectory { by_identity }
    }
}

fn claim<'n>(
    owner: &mut HashMap<String, &'n str>,
    identity: String,
    name: &'n str,
    field: &str,
) -> Result<(), ConfigError> {
    if let Some(other) = owner.insert(identity.clone(), name)
        && other != name
    {
        return Err(invalid(field, format!("{identity} is already mapped to client {other:?}")));
    }
    Ok(())
}

/// Who each stored caller identity is.
#[derive(Debug, Clone, Default)]
pub struct ClientDirectory {
    by_identity: HashMap<String, ClientInfo>,
}

impl ClientDirectory {
    /// The configured client, or the default name: `sub:<id>`, or `key:<first 12 hex>` so
    /// that even a key's hash is not printed whole.
    pub fn lookup(&self, identity: &str) -> ClientInfo {
        if let Some(info) = self.by_identity.get(identity) {
            return info.clone();
        }
        let name = match identity.strip_prefix("key:") {
            Some(hash) => format!("key:{}", &hash[..hash.len().min(12)]),
            None => identity.to_owned(),
        };
        ClientInfo { name, cost_center: None }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_config_is_the_defaults() {
        let config = Config::parse("").unwrap();
        assert_eq!(config.billing_time_zone, Tz::UTC);
        assert_eq!(config.currency, "USD");
        assert_eq!(config.ingest.batch_size, 100_000);
    }

    #[test]
    fn unknown_field_is_named_with_its_line() {
        let err = Config::parse("currency = \"USD\"\nbiling_time_zone = \"UTC\"\n").unwrap_err();
        let text = err.to_string();
        assert!(text.contains("biling_time_zone"), "{text}");
        assert!(text.contains("line 2"), "{text}");
    }

    #[test]
    fn bad_time_zone_and_bad_price_are_named() {
        let err = Config::parse("billing_time_zone = \"Mars/Olympus\"").unwrap_err().to_string();
        assert!(err.contains("Mars/Olympus") && err.contains("line 1"), "{err}");
        let err = Config::parse(
            "[[prices]]\nmodel = \"m\"\neffective = \"2024-01-01\"\ninput = \"abc\"\noutput = \"1\"",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("input") && err.contains("line 4"), "{err}");
    }

    #[test]
    fn a_subscription_mapped_twice_is_refused() {
        let text = "[clients.a]\nsubscriptions = [\"s1\"]\n[clients.b]\nsubscriptions = [\"s1\"]\n";
        let err = Config::parse(text).unwrap_err().to_string();
        assert!(err.contains("clients.b.subscriptions[0]") && err.contains("\"a\""), "{err}");
    }

    #[test]
    fn a_raw_key_is_refused_where_a_hash_belongs() {
        let text = "[clients.a]\nkey_sha256 = [\"0123456789abcdef0123456789abcdef\"]\n";
        let err = Config::parse(text).unwrap_err().to_string();
        assert!(err.contains("clients.a.key_sha256[0]"), "{err}");
    }

    #[test]
    fn provisioned_cost_and_weights_are_checked() {
        let ok =
            Config::parse("[deployments.p]\nmodel = \"gpt-4o\"\nprovisioned_monthly_cost = \"12000.00\"\n")
                .unwrap();
        assert_eq!(ok.deployments["p"].provisioned_monthly_cost, Some("12000".parse().unwrap()));
        let err = Config::parse("[deployments.p]\nmodel = \"m\"\nprovisioned_monthly_cost = \"10.005\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("deployments.p.provisioned_monthly_cost"), "{err}");
        let err = Config::parse("[provisioned]\noutput_weight = \"-1\"\n").unwrap_err().to_string();
        assert!(err.contains("provisioned.output_weight"), "{err}");
        let err = Config::parse("[serve]\nlisten = \"localhost\"\n").unwrap_err().to_string();
        assert!(err.contains("listen"), "{err}");
    }

    #[test]
    fn unmapped_callers_get_default_names() {
        let dir = Config::default().client_directory();
        assert_eq!(dir.lookup("sub:abc").name, "sub:abc");
        let hash = crate::event::key_hash("secret");
        assert_eq!(dir.lookup(&format!("key:{hash}")).name, format!("key:{}", &hash[..12]));
    }
}
