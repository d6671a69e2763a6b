//! Budget alerts: rules evaluated inside the store's commit, an outbox, and a dispatcher that
//! delivers it at least once through webhooks (generic signed JSON, Slack, Teams) and e-mail.
//!
//! * [`config`] — `[[budgets]]`, `[channels.NAME]`, `[alerts]` and their validation.
//! * [`rules`] — crossings and forecasts. Pure.
//! * [`message`] — what an alert says, rendered per channel. Pure.
//! * [`channels`] — sending one message through one channel.
//! * [`dispatch`] — retries, backoff, delivery state; [`dispatch::run`] is the long-running
//!   entry point for a live consumer.

pub mod channels;
pub mod config;
pub mod dispatch;
pub mod message;
pub mod rules;
