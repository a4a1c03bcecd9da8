//! A push exporter for tests and benches that run a measured exporter on the SDK's own
//! `ResourceMetrics`: put a job in [`Driver::job`], force a collection, and the job runs on
//! the reader's thread with that collection. Included by path (no `mod common`), from
//! `tests/metrics_alloc.rs`, `benches/metrics.rs` and the instruction bench.
#![allow(dead_code)]

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider, Temporality};
use opentelemetry_sdk::Resource;

/// What the next collection runs.
pub type Job = Box<dyn FnOnce(&ResourceMetrics) + Send>;

/// Runs the job it holds on the next collection (cumulative temporality, so every
/// collection holds every series).
#[derive(Clone, Default)]
pub struct Driver {
    pub job: Arc<Mutex<Option<Job>>>,
}

impl std::fmt::Debug for Driver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Driver")
    }
}

impl PushMetricExporter for Driver {
    fn export(&self, metrics: &ResourceMetrics) -> impl Future<Output = OTelSdkResult> + Send {
        let job = self.job.lock().map(|mut j| j.take()).unwrap_or(None);
        if let Some(job) = job {
            job(metrics);
        }
        std::future::ready(Ok(()))
    }

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        Ok(())
    }

    fn temporality(&self) -> Temporality {
        Temporality::Cumulative
    }
}

impl Driver {
    /// A meter provider (resource `service.name = benchmark`) whose only reader is this
    /// driver, collecting on `force_flush` only.
    pub fn meter_provider(&self) -> SdkMeterProvider {
        let reader = PeriodicReader::builder(self.clone())
            .with_interval(Duration::from_secs(3600))
            .build();
        SdkMeterProvider::builder()
            .with_resource(
                Resource::builder_empty()
                    .with_service_name("benchmark")
                    .build(),
            )
            .with_reader(reader)
            .build()
    }
}

/// Polls an export's future to completion (the exporters' futures are ready at once).
pub fn block_on<F: Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::yield_now();
    }
}
