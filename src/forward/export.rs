//! The export thread: takes decoded items from a bounded queue, batches them, and sends them
//! to the collector over OTLP/HTTP (protobuf).
//!
//! Logs and spans go through opentelemetry-otlp's exporters (their retry policy, their
//! protobuf mapping), one export call per resource in the batch. Metrics payloads are
//! already serialized `ExportMetricsServiceRequest`s and opentelemetry-otlp's metrics
//! exporter takes only the SDK's own `ResourceMetrics`, so they are posted as they are with
//! the same reqwest client: several payloads concatenated make one valid request (protobuf
//! appends repeated fields when messages are concatenated), retried here with the same
//! schedule.

use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_executor::block_on;
use opentelemetry::InstrumentationScope;
use opentelemetry_otlp::{Protocol, RetryPolicy, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::error::OTelSdkError;
use opentelemetry_sdk::logs::{LogBatch, LogExporter as _, SdkLogRecord};
use opentelemetry_sdk::trace::{SpanData, SpanExporter as _};

use super::decode::{Item, ResourceKey};
use super::stats::{DropReason, Signal, Stats};

/// Most bytes of metrics payloads put in one request.
const MAX_METRICS_REQUEST: usize = 1 << 20;

/// How the export thread sends.
#[derive(Debug, Clone)]
pub struct ExportOptions {
    /// The collector's OTLP/HTTP base URL (`http://host:4318`); `/v1/logs`, `/v1/traces` and
    /// `/v1/metrics` are appended, as with `OTEL_EXPORTER_OTLP_ENDPOINT`.
    pub endpoint: reqwest::Url,
    /// Timeout of one request.
    pub timeout: Duration,
    /// Retries after a failed request (a network error, or status 429, 502, 503, 504), with
    /// exponential backoff from 100 ms up to 1.6 s.
    pub retries: usize,
    /// Most items per export call.
    pub max_batch: usize,
    /// Longest an item waits for its batch to fill.
    pub batch_delay: Duration,
    /// After the queue closes (shutdown), how long flushing may take: what is still queued
    /// after that is dropped (counted as `shutdown`).
    pub shutdown_timeout: Duration,
}

const INITIAL_DELAY: Duration = Duration::from_millis(100);
const MAX_DELAY: Duration = Duration::from_millis(1600);

/// The exporters and what they share.
pub(crate) struct Exporter {
    logs: opentelemetry_otlp::LogExporter,
    spans: opentelemetry_otlp::SpanExporter,
    client: reqwest::blocking::Client,
    metrics_url: reqwest::Url,
    options: ExportOptions,
    stats: Arc<Stats>,
}

/// `base` with `path` appended to its path.
fn signal_url(base: &reqwest::Url, path: &str) -> reqwest::Url {
    let mut url = base.clone();
    let joined = format!("{}{path}", base.path().trim_end_matches('/'));
    url.set_path(&joined);
    url
}

impl Exporter {
    /// Builds the exporters (no connection is made yet).
    pub(crate) fn new(options: ExportOptions, stats: Arc<Stats>) -> Result<Exporter, String> {
        let client = reqwest::blocking::Client::builder()
            .timeout(options.timeout)
            .build()
            .map_err(|e| format!("HTTP client: {e}"))?;
        let policy = RetryPolicy::recommended()
            .with_max_retries(options.retries)
            .with_initial_delay(INITIAL_DELAY)
            .with_max_delay(MAX_DELAY);
        let url = |path| signal_url(&options.endpoint, path).to_string();
        let logs = opentelemetry_otlp::LogExporter::builder()
            .with_http()
            .with_http_client(client.clone())
            .with_protocol(Protocol::HttpBinary)
            .with_endpoint(url("/v1/logs"))
            .with_timeout(options.timeout)
            .with_retry_policy(policy.clone())
            .build()
            .map_err(|e| format!("OTLP log exporter: {e}"))?;
        let spans = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_http_client(client.clone())
            .with_protocol(Protocol::HttpBinary)
            .with_endpoint(url("/v1/traces"))
            .with_timeout(options.timeout)
            .with_retry_policy(policy)
            .build()
            .map_err(|e| format!("OTLP span exporter: {e}"))?;
        Ok(Exporter {
            logs,
            spans,
            client,
            metrics_url: signal_url(&options.endpoint, "/v1/metrics"),
            options,
            stats,
        })
    }

    /// Runs until `queue` closes and is drained (or the shutdown timeout passes).
    pub(crate) fn run(mut self, queue: Receiver<Item>) {
        let mut batch = Batch::default();
        let mut closed_at: Option<Instant> = None;
        loop {
            let deadline = Instant::now() + self.options.batch_delay;
            while batch.len < self.options.max_batch {
                let wait = deadline.saturating_duration_since(Instant::now());
                match queue.recv_timeout(wait) {
                    Ok(item) => batch.push(item),
                    Err(RecvTimeoutError::Timeout) => break,
                    Err(RecvTimeoutError::Disconnected) => {
                        closed_at.get_or_insert_with(Instant::now);
                        break;
                    }
                }
            }
            if let Some(at) = closed_at {
                if at.elapsed() > self.options.shutdown_timeout {
                    let left = batch.len + queue.try_iter().count();
                    self.stats.dropped(DropReason::Shutdown, left as u64);
                    return;
                }
            }
            self.send(std::mem::take(&mut batch));
            if closed_at.is_some() && batch.len == 0 {
                // Closed: send whatever is left, then stop.
                let mut rest = Batch::default();
                for item in queue.try_iter() {
                    rest.push(item);
                    if rest.len >= self.options.max_batch {
                        break;
                    }
                }
                if rest.len == 0 {
                    return;
                }
                batch = rest;
            }
        }
    }

    fn send(&mut self, batch: Batch) {
        for (resource, records) in group(batch.logs) {
            self.logs.set_resource(&resource.resource());
            let pairs: Vec<(&SdkLogRecord, &InstrumentationScope)> =
                records.iter().map(|(scope, r)| (&**r, scope)).collect();
            let result = block_on(self.logs.export(LogBatch::new(&pairs)));
            self.count(Signal::Logs, pairs.len(), result);
        }
        for (resource, spans) in group(batch.spans) {
            self.spans.set_resource(&resource.resource());
            let n = spans.len();
            let result = block_on(self.spans.export(spans.into_iter().map(|s| *s).collect()));
            self.count(Signal::Spans, n, result);
        }
        let mut body = Vec::new();
        let mut n = 0;
        for payload in batch.metrics {
            if !body.is_empty() && body.len() + payload.len() > MAX_METRICS_REQUEST {
                let result = self.post_metrics(&body);
                self.count(Signal::Metrics, n, result);
                (body, n) = (Vec::new(), 0);
            }
            body.extend_from_slice(&payload);
            n += 1;
        }
        if n > 0 {
            let result = self.post_metrics(&body);
            self.count(Signal::Metrics, n, result);
        }
    }

    fn count(&self, signal: Signal, n: usize, result: Result<(), OTelSdkError>) {
        match result {
            Ok(()) => self.stats.forwarded(signal, n as u64),
            Err(e) => self.stats.dropped(classify(&e), n as u64),
        }
    }

    /// POSTs `body` (concatenated requests) to `/v1/metrics`, retrying as the exporters do.
    fn post_metrics(&self, body: &[u8]) -> Result<(), OTelSdkError> {
        let mut delay = INITIAL_DELAY;
        let mut attempt = 0;
        loop {
            let sent = self
                .client
                .post(self.metrics_url.clone())
                .header("content-type", "application/x-protobuf")
                .body(body.to_vec())
                .send();
            let (retryable, message) = match sent {
                Ok(response) if response.status().is_success() => return Ok(()),
                Ok(response) => {
                    let code = response.status().as_u16();
                    (
                        matches!(code, 429 | 502 | 503 | 504),
                        format!("HTTP export failed with status code: {code}"),
                    )
                }
                Err(_) => (true, "HTTP export failed: network error".to_string()),
            };
            if !retryable || attempt >= self.options.retries {
                return Err(OTelSdkError::InternalFailure(message));
            }
            std::thread::sleep(delay);
            delay = (delay * 2).min(MAX_DELAY);
            attempt += 1;
        }
    }
}

/// Why an export failed, from opentelemetry-otlp's message (its error type carries only
/// text): a status code means the collector refused, a network error that it was not
/// reached.
fn classify(error: &OTelSdkError) -> DropReason {
    let text = error.to_string();
    if text.contains("status code") {
        DropReason::Rejected
    } else if text.contains("network error") || text.contains("timed out") {
        DropReason::Unreachable
    } else {
        DropReason::ExportFailed
    }
}

/// Items of one export round, by signal.
#[derive(Default)]
struct Batch {
    logs: Vec<(ResourceKey, (InstrumentationScope, Box<SdkLogRecord>))>,
    spans: Vec<(ResourceKey, Box<SpanData>)>,
    metrics: Vec<Vec<u8>>,
    len: usize,
}

impl Batch {
    fn push(&mut self, item: Item) {
        match item {
            Item::Log(resource, scope, record) => self.logs.push((resource, (scope, record))),
            Item::Span(resource, span) => self.spans.push((resource, span)),
            Item::Metrics(payload) => self.metrics.push(payload),
        }
        self.len += 1;
    }
}

/// Items grouped by resource, each group in arrival order.
fn group<T>(items: Vec<(ResourceKey, T)>) -> Vec<(ResourceKey, Vec<T>)> {
    let mut groups: Vec<(ResourceKey, Vec<T>)> = Vec::new();
    for (resource, item) in items {
        match groups.iter_mut().find(|(r, _)| *r == resource) {
            Some((_, v)) => v.push(item),
            None => groups.push((resource, vec![item])),
        }
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signal_paths_follow_the_otlp_endpoint_convention() {
        let base = reqwest::Url::parse("http://127.0.0.1:4318").unwrap();
        assert_eq!(
            signal_url(&base, "/v1/logs").as_str(),
            "http://127.0.0.1:4318/v1/logs"
        );
        let base = reqwest::Url::parse("http://collector/otlp/").unwrap();
        assert_eq!(
            signal_url(&base, "/v1/metrics").as_str(),
            "http://collector/otlp/v1/metrics"
        );
    }

    #[test]
    fn groups_keep_arrival_order() {
        let r = |s: &str| ResourceKey {
            role: Some(s.to_string()),
            role_instance: None,
        };
        let g = group(vec![(r("a"), 1), (r("b"), 2), (r("a"), 3)]);
        assert_eq!(g, vec![(r("a"), vec![1, 3]), (r("b"), vec![2])]);
    }

    #[test]
    fn failures_are_classified() {
        let e = |s: &str| OTelSdkError::InternalFailure(s.to_string());
        assert_eq!(
            classify(&e("HTTP export failed with status code: 503")),
            DropReason::Rejected
        );
        assert_eq!(
            classify(&e("HTTP export failed: network error")),
            DropReason::Unreachable
        );
        assert_eq!(classify(&e("other")), DropReason::ExportFailed);
    }
}
