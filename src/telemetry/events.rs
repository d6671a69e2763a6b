//! The telemetry events the pipeline emits: one small struct per event, each with an `emit()`
//! that writes its log line and records its metrics (vector style). Emitting never fails and
//! never blocks: with telemetry off it is a log line at most.
//!
//! Also the batch span ([`batch_span`]) and its W3C `traceparent` ([`traceparent`]), which the
//! alerts code stores with an outbox row so that [`AlertDelivery`] can link its span to the
//! batch that raised the alert, even after a restart.

use std::time::Duration;

use opentelemetry::KeyValue;
use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
use rust_decimal::prelude::ToPrimitive;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use super::usage::AcceptedTotals;
use super::{PROVIDER, shared};
use crate::store::CommitSummary;

/// The span of one batch: from reading its first line to its commit. Fields `accepted`,
/// `duplicates`, `dead_letters` and `position` are filled by [`BatchCommitted::emit`] when it
/// is emitted inside the span.
/// Commit `batch` observed: inside its `chargeback.batch` span, with the span's `traceparent`
/// given to the alerts it raises, then [`BatchCommitted`] emitted. Every source (files, Event
/// Hubs) commits through this, so each batch is traced and counted the same way.
pub fn commit_observed(
    store: &mut crate::store::Store,
    batch: &mut crate::store::Batch,
    source: &str,
    partition: &str,
    position: u64,
) -> Result<crate::store::CommitSummary, crate::store::StoreError> {
    let span = batch_span(source, partition);
    let _in = span.enter();
    batch.traceparent = traceparent(&span);
    let started = std::time::Instant::now();
    let summary = store.commit_batch(batch)?;
    let latency = started.elapsed();
    let totals = match super::metrics_on() {
        true => super::usage::AcceptedTotals::of(&batch.records, store.last_accepted()),
        false => super::usage::AcceptedTotals::default(),
    };
    BatchCommitted { source, partition, position, summary, totals: &totals, latency }.emit();
    Ok(summary)
}

pub fn batch_span(source: &str, partition: &str) -> tracing::Span {
    tracing::info_span!(
        "chargeback.batch",
        chargeback.source = source,
        chargeback.partition = partition,
        chargeback.position = tracing::field::Empty,
        chargeback.records = tracing::field::Empty,
        chargeback.accepted = tracing::field::Empty,
        chargeback.duplicates = tracing::field::Empty,
        chargeback.dead_letters = tracing::field::Empty,
    )
}

/// The W3C `traceparent` of `span` (`00-<trace id>-<span id>-<flags>`), to store with an
/// outbox row; `None` when traces are off.
pub fn traceparent(span: &tracing::Span) -> Option<String> {
    let cx = span.context();
    let sc = cx.span().span_context().clone();
    sc.is_valid().then(|| format!("00-{}-{}-{:02x}", sc.trace_id(), sc.span_id(), sc.trace_flags().to_u8()))
}

/// Parse a stored `traceparent` back into a span context (remote); `None` if malformed.
pub fn parse_traceparent(value: &str) -> Option<SpanContext> {
    let mut parts = value.trim().split('-');
    let (version, trace, span, flags) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    if version != "00" || parts.next().is_some() || trace.len() != 32 || span.len() != 16 || flags.len() != 2
    {
        return None;
    }
    let sc = SpanContext::new(
        TraceId::from_hex(trace).ok()?,
        SpanId::from_hex(span).ok()?,
        TraceFlags::new(u8::from_str_radix(flags, 16).ok()?),
        true,
        TraceState::default(),
    );
    sc.is_valid().then_some(sc)
}

/// A batch was committed. Emit it inside the batch's span ([`batch_span`]).
#[derive(Debug, Clone, Copy)]
pub struct BatchCommitted<'a> {
    /// `file:<path>`, `stdin`, or the Event Hubs name.
    pub source: &'a str,
    /// Event Hubs partition; empty for files.
    pub partition: &'a str,
    /// The checkpoint position after the batch (byte offset or sequence number).
    pub position: u64,
    /// What the store did (accepted, duplicates, dead letters).
    pub summary: CommitSummary,
    /// What the accepted records added: `AcceptedTotals::of(&batch.records, store.last_accepted())`.
    pub totals: &'a AcceptedTotals,
    /// How long `commit_batch` took.
    pub latency: Duration,
}

impl BatchCommitted<'_> {
    pub fn emit(&self) {
        let s = &self.summary;
        let span = tracing::Span::current();
        // As i64: tracing-opentelemetry exports u64 fields as strings, i64 as OTLP ints.
        let int = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        span.record("chargeback.position", int(self.position));
        span.record("chargeback.records", int(s.accepted + s.duplicates));
        span.record("chargeback.accepted", int(s.accepted));
        span.record("chargeback.duplicates", int(s.duplicates));
        span.record("chargeback.dead_letters", int(s.dead_letters));
        tracing::debug!(
            source = self.source,
            partition = self.partition,
            position = self.position,
            accepted = s.accepted,
            duplicates = s.duplicates,
            dead_letters = s.dead_letters,
            estimated = s.estimated,
            latency_ms = self.latency.as_secs_f64() * 1e3,
            "batch committed"
        );
        let Some(shared) = shared() else { return };
        let Some(m) = &shared.metrics else { return };
        let source = KeyValue::new("chargeback.source", self.source.to_owned());
        for (outcome, n) in
            [("accepted", s.accepted), ("duplicate", s.duplicates), ("dead_letter", s.dead_letters)]
        {
            if n > 0 {
                m.events.add(n, &[source.clone(), KeyValue::new("chargeback.outcome", outcome)]);
            }
        }
        m.commit_duration.record(self.latency.as_secs_f64(), std::slice::from_ref(&source));
        let mut cap = shared.cardinality.lock().unwrap_or_else(|e| e.into_inner());
        for (key, d) in &self.totals.entries {
            let client = shared.clients.lookup(&key.client).name;
            let client = cap.clients.fold(&client).to_owned();
            let deployment = cap.deployments.fold(&key.deployment).to_owned();
            let base = [
                KeyValue::new("gen_ai.provider.name", PROVIDER),
                KeyValue::new("gen_ai.request.model", key.model.clone()),
                KeyValue::new("chargeback.client", client),
                KeyValue::new("chargeback.deployment", deployment),
                KeyValue::new("chargeback.estimated", key.estimated),
            ];
            for (kind, n) in
                [("input", d.input), ("output", d.output), ("cached", d.cached), ("reasoning", d.reasoning)]
            {
                if n > 0 {
                    let mut attrs = base.to_vec();
                    attrs.push(KeyValue::new("gen_ai.token.type", kind));
                    m.tokens.add(n, &attrs);
                }
            }
            if d.priced_requests > 0 {
                let mut attrs = base.to_vec();
                attrs.push(KeyValue::new("chargeback.currency", shared.currency.clone()));
                m.cost.add(d.cost.to_f64().unwrap_or(0.0), &attrs);
            }
            if key.estimated {
                EstimatorUsed { model: &key.model, events: d.requests, lower_bound: d.undercounted }.emit();
            }
        }
    }
}

/// Calls counted by the estimator (streamed without usage). Emitted by [`BatchCommitted`] for
/// accepted records; the `estimate` command may emit it for one call.
#[derive(Debug, Clone, Copy)]
pub struct EstimatorUsed<'a> {
    pub model: &'a str,
    /// Calls counted.
    pub events: u64,
    /// Of which the count is a lower bound.
    pub lower_bound: u64,
}

impl EstimatorUsed<'_> {
    pub fn emit(&self) {
        tracing::trace!(
            model = self.model,
            events = self.events,
            lower_bound = self.lower_bound,
            "estimator used"
        );
        let Some(m) = shared().and_then(|s| s.metrics.as_ref()) else { return };
        if self.events > self.lower_bound {
            m.estimator.add(
                self.events - self.lower_bound,
                &[
                    KeyValue::new("gen_ai.request.model", self.model.to_owned()),
                    KeyValue::new("chargeback.lower_bound", false),
                ],
            );
        }
        if self.lower_bound > 0 {
            m.estimator.add(
                self.lower_bound,
                &[
                    KeyValue::new("gen_ai.request.model", self.model.to_owned()),
                    KeyValue::new("chargeback.lower_bound", true),
                ],
            );
        }
    }
}

/// How far a partition's consumer is behind.
#[derive(Debug, Clone, Copy)]
pub struct ConsumerLag<'a> {
    pub source: &'a str,
    pub partition: &'a str,
    /// Sequence number of the last event enqueued in the partition.
    pub last_enqueued: u64,
    /// Sequence number of the last event committed to the store.
    pub last_committed: u64,
}

impl ConsumerLag<'_> {
    /// Events not yet committed.
    pub fn lag(&self) -> u64 {
        self.last_enqueued.saturating_sub(self.last_committed)
    }

    pub fn emit(&self) {
        tracing::debug!(source = self.source, partition = self.partition, lag = self.lag(), "consumer lag");
        let Some(m) = shared().and_then(|s| s.metrics.as_ref()) else { return };
        m.lag.record(
            self.lag(),
            &[
                KeyValue::new("chargeback.source", self.source.to_owned()),
                KeyValue::new("chargeback.partition", self.partition.to_owned()),
            ],
        );
    }
}

/// The result of one delivery attempt of a budget alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertOutcome {
    Delivered,
    /// Failed; will be retried.
    Retrying,
    /// Failed for good (retries exhausted or refused).
    Failed,
}

impl AlertOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertOutcome::Delivered => "delivered",
            AlertOutcome::Retrying => "retrying",
            AlertOutcome::Failed => "failed",
        }
    }
}

/// One delivery attempt of a budget alert. Its span links to the batch that raised the alert
/// through the `traceparent` stored with the outbox row.
#[derive(Debug, Clone, Copy)]
pub struct AlertDelivery<'a> {
    /// Threshold level, e.g. `80` (percent).
    pub level: &'a str,
    /// `webhook`, `slack`, `teams`, `email`.
    pub channel: &'a str,
    pub outcome: AlertOutcome,
    /// The batch span's `traceparent` saved with the outbox row ([`traceparent`]).
    pub traceparent: Option<&'a str>,
}

impl AlertDelivery<'_> {
    pub fn emit(&self) {
        let span = tracing::info_span!(
            "chargeback.alert.delivery",
            chargeback.alert.level = self.level,
            chargeback.alert.channel = self.channel,
            chargeback.alert.outcome = self.outcome.as_str(),
        );
        if let Some(sc) = self.traceparent.and_then(parse_traceparent) {
            span.add_link(sc);
        }
        // The dispatcher logs each attempt with its details; this records the span and metric.
        drop(span.entered());
        let Some(m) = shared().and_then(|s| s.metrics.as_ref()) else { return };
        m.alerts.add(
            1,
            &[
                KeyValue::new("chargeback.alert.level", self.level.to_owned()),
                KeyValue::new("chargeback.alert.channel", self.channel.to_owned()),
                KeyValue::new("chargeback.alert.outcome", self.outcome.as_str()),
            ],
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traceparent_round_trips_and_rejects_garbage() {
        let tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let sc = parse_traceparent(tp).expect("valid");
        assert_eq!(format!("00-{}-{}-{:02x}", sc.trace_id(), sc.span_id(), sc.trace_flags().to_u8()), tp);
        assert!(sc.is_remote());
        for bad in [
            "",
            "00-abc-def-01",
            "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        ] {
            assert!(parse_traceparent(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn lag_never_goes_negative() {
        let lag = ConsumerLag { source: "eh", partition: "0", last_enqueued: 5, last_committed: 9 };
        assert_eq!(lag.lag(), 0);
        assert_eq!(ConsumerLag { last_committed: 2, ..lag }.lag(), 3);
    }

    #[test]
    fn without_tracing_there_is_no_traceparent() {
        assert_eq!(traceparent(&batch_span("s", "")), None);
    }
}
