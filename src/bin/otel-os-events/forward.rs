//! `forward`'s arguments, and running it.

use std::sync::atomic::AtomicBool;
use std::time::Duration;

use clap::Args;
use otel_os_events::forward::{ExportOptions, ForwardOptions};
use otel_os_events::listen::SessionOptions;
use otel_os_events::metrics::TRACEPOINT_NAME;

use super::{parse_ring_pages, parse_timeout, register_missing, Select};

/// The long description of `forward`.
pub(super) const ABOUT: &str = "\
Reads the providers' user_events tracepoints (and otlp_metrics) through perf, turns each
event back into OTLP and sends it to an OpenTelemetry collector over OTLP/HTTP (protobuf),
like a collector's receiver would: Common Schema Log events as log records, Span events as
spans (PartA's ext_cloud_role as the resource's service.name), the metrics exporters'
otlp_metrics payloads as they are. Missing tracepoints are registered first, so forward may
start before the application.

Items wait in a bounded queue (--queue-size) and go out in batches (--max-batch,
--batch-delay); a failed request is retried with exponential backoff (--retries). Nothing
is kept beyond the queue: an event that does not decode, a full queue, a collector that
refuses or cannot be reached, all drop events and count them by reason.

Every --stats-interval seconds, and at exit, a line on stderr:
  forward: read N (R/s), lost L, forwarded logs A spans B metrics C,
  decode errors malformed=.. not_common_schema=.. bad_field=.. bad_metrics=.. too_many_names=..,
  dropped queue_full=.. rejected=.. unreachable=.. export_failed=.. shutdown=..
SIGINT/SIGTERM stop reading, send what is queued (at most --shutdown-timeout) and exit 0.
Needs root or CAP_PERFMON (system-wide tracepoint sampling), and tracefs.";

/// `forward`'s arguments as given.
#[derive(Debug, Args)]
pub(super) struct ForwardCmd {
    #[command(flatten)]
    select: Select,
    /// Do not read otlp_metrics
    #[arg(long)]
    no_metrics: bool,
    /// The collector's OTLP/HTTP base URL; /v1/logs, /v1/traces, /v1/metrics are appended
    #[arg(long, value_name = "URL", value_parser = parse_endpoint,
          default_value = "http://localhost:4318")]
    endpoint: reqwest::Url,
    /// Items the queue to the exporter holds; beyond it events are dropped (queue_full)
    #[arg(long, value_name = "N", default_value_t = 2048,
          value_parser = clap::value_parser!(u32).range(1..))]
    queue_size: u32,
    /// Most items per export request
    #[arg(long, value_name = "N", default_value_t = 512,
          value_parser = clap::value_parser!(u32).range(1..))]
    max_batch: u32,
    /// Longest an item waits for its batch, in seconds
    #[arg(long, value_name = "SECS", default_value = "1", value_parser = parse_timeout)]
    batch_delay: Duration,
    /// Timeout of one export request, in seconds
    #[arg(long, value_name = "SECS", default_value = "10", value_parser = parse_timeout)]
    export_timeout: Duration,
    /// Retries of a failed request (network error, 429, 502, 503, 504), backoff 100 ms..1.6 s
    #[arg(long, value_name = "N", default_value_t = 3)]
    retries: usize,
    /// At exit, longest time to send what is queued, in seconds (the rest: dropped, shutdown)
    #[arg(long, value_name = "SECS", default_value = "5", value_parser = parse_timeout)]
    shutdown_timeout: Duration,
    /// Summary on stderr every SECS seconds; 0: only at exit
    #[arg(long, value_name = "SECS", default_value = "10", value_parser = parse_timeout)]
    stats_interval: Duration,
    /// Exit after SECS seconds (fractions allowed)
    #[arg(long, value_name = "SECS", value_parser = parse_timeout)]
    timeout: Option<Duration>,
    /// Data pages per CPU ring, a power of two
    #[arg(long, value_name = "N", value_parser = parse_ring_pages, default_value_t = 64)]
    ring_pages: usize,
}

/// An OTLP/HTTP endpoint: an absolute `http://` URL with a host. (https would need a TLS
/// stack, which this build does not carry.)
fn parse_endpoint(s: &str) -> Result<reqwest::Url, String> {
    let url = reqwest::Url::parse(s).map_err(|e| format!("not a URL: {e}"))?;
    match url.scheme() {
        "http" => {}
        "https" => return Err("https is not supported (no TLS in this build); use http://".into()),
        other => {
            return Err(format!(
                "scheme {other:?}: an OTLP/HTTP endpoint is http://"
            ))
        }
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("no host".to_string());
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("a query or fragment has no place in an endpoint".to_string());
    }
    Ok(url)
}

impl ForwardCmd {
    /// The options `forward::run` takes.
    pub(super) fn options(self) -> Result<ForwardOptions, clap::Error> {
        let mut tracepoints = self.select.tracepoints()?;
        if !self.no_metrics && !tracepoints.iter().any(|t| t == TRACEPOINT_NAME) {
            tracepoints.push(TRACEPOINT_NAME.to_string());
        }
        Ok(ForwardOptions {
            tracepoints,
            session: SessionOptions {
                ring_data_pages: self.ring_pages,
                // Wake at half a ring: an agent wants throughput, and batches anyway.
                wakeup_events: 0,
                ..Default::default()
            },
            queue_size: self.queue_size as usize,
            export: ExportOptions {
                endpoint: self.endpoint,
                timeout: self.export_timeout,
                retries: self.retries,
                max_batch: self.max_batch as usize,
                batch_delay: self.batch_delay,
                shutdown_timeout: self.shutdown_timeout,
            },
            stats_interval: (!self.stats_interval.is_zero()).then_some(self.stats_interval),
            timeout: self.timeout,
        })
    }
}

/// Registers what is missing, then forwards until `stop` or the timeout.
pub(super) fn run(options: ForwardOptions, stop: &AtomicBool) -> Result<(), String> {
    let registrations = register_missing(&options.tracepoints).map_err(|e| e.to_string())?;
    otel_os_events::forward::run(options, stop).map_err(|e| e.to_string())?;
    drop(registrations);
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::error::ErrorKind;
    use clap::CommandFactory;

    use super::super::{parse_action, Action, Cli};
    use super::*;

    fn parse(s: &str) -> Result<ForwardOptions, clap::Error> {
        match parse_action(std::iter::once("otel-os-events").chain(s.split_whitespace()))? {
            Some(Action::Forward(options)) => Ok(options),
            other => panic!("{s:?}: {other:?}"),
        }
    }

    #[test]
    fn providers_levels_and_metrics() {
        let o = parse("forward a b --level 4").unwrap();
        assert_eq!(o.tracepoints, ["a_L4K1", "b_L4K1", "otlp_metrics"]);
        let o = parse("forward a --no-metrics").unwrap();
        assert_eq!(o.tracepoints.len(), 5);
        let o = parse("forward --tracepoint otlp_metrics").unwrap();
        assert_eq!(o.tracepoints, ["otlp_metrics"]);
    }

    #[test]
    fn defaults_follow_the_otlp_conventions() {
        let o = parse("forward p").unwrap();
        assert_eq!(o.export.endpoint.as_str(), "http://localhost:4318/");
        assert_eq!((o.queue_size, o.export.max_batch), (2048, 512));
        assert_eq!(o.export.batch_delay, Duration::from_secs(1));
        assert_eq!(o.export.timeout, Duration::from_secs(10));
        assert_eq!(o.export.retries, 3);
        assert_eq!(o.stats_interval, Some(Duration::from_secs(10)));
        let o = parse("forward p --stats-interval 0 --endpoint http://127.0.0.1:9/otlp").unwrap();
        assert_eq!(o.stats_interval, None);
        assert_eq!(o.export.endpoint.as_str(), "http://127.0.0.1:9/otlp");
    }

    #[test]
    fn an_invalid_endpoint_is_a_usage_error() {
        for endpoint in [
            "localhost:4318",
            "127.0.0.1",
            "ftp://h/",
            "https://h:4318",
            "http://",
            "http://h/?q=1",
            "not a url",
        ] {
            let e = parse(&format!("forward p --endpoint {endpoint}")).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::ValueValidation, "{endpoint}: {e}");
            assert_eq!(e.exit_code(), 2);
        }
    }

    #[test]
    fn help_documents_every_flag_and_the_exit_codes() {
        let mut cmd = Cli::command();
        let text = cmd
            .find_subcommand_mut("forward")
            .unwrap()
            .render_long_help()
            .to_string();
        for flag in [
            "<PROVIDER>",
            "--endpoint",
            "--queue-size",
            "--max-batch",
            "--batch-delay",
            "--export-timeout",
            "--retries",
            "--shutdown-timeout",
            "--stats-interval",
            "--no-metrics",
            "--timeout",
            "Exit status:",
            "not an http:// URL",
            "dropped queue_full",
        ] {
            assert!(text.contains(flag), "{flag}: {text}");
        }
    }
}
