//! What an alert says and how each channel shows it. Pure: the outbox stores an
//! [`AlertMessage`] (JSON) at commit time; rendering it for a channel happens at delivery and
//! does no I/O. Messages say who, what, how much of what budget, and what to do next.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::config::Measure;

/// Everything needed to render an alert later, fixed when the alert is committed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertMessage {
    /// Stable id of this alert; receivers dedupe on it.
    pub payload_id: String,
    pub rule: String,
    /// `YYYY-MM`.
    pub period: String,
    /// `50`, `80`, `100`, ..., `forecast`, or `test`.
    pub level: String,
    /// Client config name, if the budget is per client.
    pub client: Option<String>,
    /// Deployment, if the budget is per deployment.
    pub deployment: Option<String>,
    pub measure: Measure,
    pub value: Decimal,
    pub limit: Decimal,
    pub percent: Decimal,
    pub currency: String,
    pub owners: Vec<String>,
    pub projected_date: Option<NaiveDate>,
    pub projected_value: Option<Decimal>,
}

impl AlertMessage {
    /// Who the budget covers, in words.
    pub fn scope(&self) -> String {
        match (&self.client, &self.deployment) {
            (Some(c), Some(d)) => format!("client {c} on deployment {d}"),
            (Some(c), None) => format!("client {c}"),
            (None, Some(d)) => format!("deployment {d}"),
            (None, None) => "all clients and deployments".to_owned(),
        }
    }

    fn amount(&self, v: Decimal) -> String {
        match self.measure {
            Measure::Cost => format!("{} {}", v.round_dp(2), self.currency),
            Measure::Tokens => format!("{} tokens", v.round_dp(0)),
        }
    }

    /// One-line title.
    pub fn title(&self) -> String {
        match self.level.as_str() {
            "forecast" => format!(
                "Budget {}: {} is projected to exceed its {} budget",
                self.rule,
                self.scope(),
                self.period
            ),
            "test" => format!("Test alert from chargeback (budget {})", self.rule),
            level => format!(
                "Budget {}: {} reached {level}% of its {} budget",
                self.rule,
                self.scope(),
                self.period
            ),
        }
    }

    /// The body in plain words: what happened, how much, and what to do next.
    pub fn text(&self) -> String {
        let what = match self.level.as_str() {
            "forecast" => format!(
                "At the current run-rate, {} will reach its monthly budget of {} on {} and end {} at about {}. \
                 It has used {} so far ({}%).",
                self.scope(),
                self.amount(self.limit),
                self.projected_date.map(|d| d.to_string()).unwrap_or_else(|| "?".into()),
                self.period,
                self.amount(self.projected_value.unwrap_or_default()),
                self.amount(self.value),
                self.percent,
            ),
            "test" => "This is a test message: the channel works. No budget was crossed.".to_owned(),
            level => format!(
                "{} has used {} in {}, {}% of its monthly budget of {} (threshold {level}%).",
                self.scope(),
                self.amount(self.value),
                self.period,
                self.percent,
                self.amount(self.limit),
            ),
        };
        let next = match self.level.as_str() {
            "test" => String::new(),
            _ => format!(
                "\nWhat to do next: check who is driving the usage with `chargeback report --month {}`, \
                 then lower usage, or raise budget {:?} in the chargeback config if the spend is expected.",
                self.period, self.rule
            ),
        };
        format!("{what}{next}\nAlert id: {}", self.payload_id)
    }

    /// Generic webhook body (signed by the channel).
    pub fn webhook_json(&self) -> Value {
        json!({
            "payload_id": self.payload_id,
            "title": self.title(),
            "text": self.text(),
            "alert": self,
        })
    }

    /// Slack incoming-webhook message: `text` (fallback) plus blocks.
    pub fn slack_json(&self) -> Value {
        json!({
            "text": self.title(),
            "blocks": [
                {"type": "header", "text": {"type": "plain_text", "text": truncate(&self.title(), 150)}},
                {"type": "section", "text": {"type": "mrkdwn", "text": self.text()}},
                {"type": "context", "elements": [{"type": "mrkdwn", "text": format!("payload id `{}`", self.payload_id)}]}
            ]
        })
    }

    /// Teams incoming-webhook message: one Adaptive Card attachment.
    pub fn teams_json(&self) -> Value {
        json!({
            "type": "message",
            "attachments": [{
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": null,
                "content": {
                    "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                    "type": "AdaptiveCard",
                    "version": "1.4",
                    "body": [
                        {"type": "TextBlock", "size": "Medium", "weight": "Bolder", "wrap": true, "text": self.title()},
                        {"type": "TextBlock", "wrap": true, "text": self.text()},
                        {"type": "FactSet", "facts": [
                            {"title": "Budget", "value": self.rule},
                            {"title": "Month", "value": self.period},
                            {"title": "Used", "value": format!("{} ({}%)", self.amount(self.value), self.percent)},
                            {"title": "Limit", "value": self.amount(self.limit)},
                            {"title": "Alert id", "value": self.payload_id}
                        ]}
                    ]
                }
            }]
        })
    }
}

fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    pub fn sample(level: &str) -> AlertMessage {
        AlertMessage {
            payload_id: "7d0e0c3e-0000-4000-8000-000000000001".into(),
            rule: "team-a-cost".into(),
            period: "2026-10".into(),
            level: level.into(),
            client: Some("team-a".into()),
            deployment: None,
            measure: Measure::Cost,
            value: Decimal::new(8512, 2),
            limit: Decimal::from(100),
            percent: Decimal::new(8512, 2),
            currency: "USD".into(),
            owners: vec!["a@example.com".into()],
            projected_date: NaiveDate::from_ymd_opt(2026, 10, 26),
            projected_value: Some(Decimal::from(124)),
        }
    }

    #[test]
    fn a_threshold_message_says_who_what_how_much_and_next() {
        let m = sample("80");
        assert_eq!(m.title(), "Budget team-a-cost: client team-a reached 80% of its 2026-10 budget");
        let t = m.text();
        assert!(
            t.contains(
                "client team-a has used 85.12 USD in 2026-10, 85.12% of its monthly budget of 100 USD"
            ),
            "{t}"
        );
        assert!(t.contains("What to do next") && t.contains("chargeback report --month 2026-10"), "{t}");
        assert!(t.contains(&m.payload_id), "{t}");
    }

    #[test]
    fn a_forecast_message_gives_the_date() {
        let t = sample("forecast").text();
        assert!(t.contains("will reach its monthly budget of 100 USD on 2026-10-26"), "{t}");
        assert!(t.contains("about 124 USD"), "{t}");
    }

    #[test]
    fn slack_and_teams_formats() {
        let m = sample("100");
        let s = m.slack_json();
        assert_eq!(s["text"], m.title());
        assert_eq!(s["blocks"][0]["type"], "header");
        assert_eq!(s["blocks"][1]["text"]["type"], "mrkdwn");
        let t = m.teams_json();
        assert_eq!(t["type"], "message");
        let card = &t["attachments"][0];
        assert_eq!(card["contentType"], "application/vnd.microsoft.card.adaptive");
        assert_eq!(card["content"]["type"], "AdaptiveCard");
        assert_eq!(card["content"]["body"][2]["facts"][4]["value"], m.payload_id);
        let w = m.webhook_json();
        assert_eq!(w["payload_id"], m.payload_id);
        assert_eq!(w["alert"]["value"], "85.12");
        let back: AlertMessage = serde_json::from_value(w["alert"].clone()).unwrap();
        assert_eq!(back, m);
    }
}
