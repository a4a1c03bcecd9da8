//! Shared by the model checks in `tests/`: see the README.

/// Runs `f` under loom with a preemption bound of 3 unless `LOOM_MAX_PREEMPTIONS` sets one:
/// small enough to finish in CI, large enough for the races these models look for.
#[cfg(otel_os_events_loom)]
pub fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(3);
    }
    builder.check(f);
}
