//! Ratios from paired rounds. Under qemu's TCG a path's time drifts by up to 2× within one
//! run (criterion measures one path, then the next, seconds apart), which swamps ratios
//! taken between criterion's rows. Here every round times a batch of each contender in
//! turn, a few milliseconds apart, starting with a different one each round, and a ratio
//! is taken within each round: drift slower than a round cancels out. What is reported is
//! the median of the per-round ratios, with the quartiles around it.

use std::time::Duration;

/// One path to time: called with `n`, it performs the path `n` times and returns the time
/// to count (a queued path leaves its flush out).
pub type Contender<'a> = Box<dyn FnMut(u64) -> Duration + 'a>;

/// Nanoseconds per call of each contender, per round: `result[round][contender]`.
pub fn rounds(contenders: &mut [Contender<'_>], rounds: usize, batch: u64) -> Vec<Vec<f64>> {
    let n = contenders.len();
    for c in contenders.iter_mut() {
        c(batch); // warm up: caches, the translation cache under TCG, buffers
    }
    (0..rounds)
        .map(|round| {
            let mut times = vec![0.0; n];
            for i in 0..n {
                let at = (round + i) % n;
                let t = contenders[at](batch);
                times[at] = t.as_nanos() as f64 / batch as f64;
            }
            times
        })
        .collect()
}

/// The lower quartile, median and upper quartile of `values` (not empty).
pub fn quartiles(mut values: Vec<f64>) -> (f64, f64, f64) {
    values.sort_by(f64::total_cmp);
    let at = |q: f64| values[((values.len() - 1) as f64 * q).round() as usize];
    (at(0.25), at(0.5), at(0.75))
}

/// The per-round ratio `times[a] / times[b]`, as `median (lower–upper quartile)`.
pub fn ratio(per_round: &[Vec<f64>], a: usize, b: usize) -> String {
    let (lo, mid, hi) = quartiles(per_round.iter().map(|t| t[a] / t[b]).collect());
    format!("{mid:.2} ({lo:.2}–{hi:.2})")
}

/// The median time of contender `a`, formatted.
pub fn median_time(per_round: &[Vec<f64>], a: usize) -> String {
    let (_, mid, _) = quartiles(per_round.iter().map(|t| t[a]).collect());
    if mid >= 1e6 {
        format!("{:.2} ms", mid / 1e6)
    } else if mid >= 1000.0 {
        format!("{:.2} µs", mid / 1000.0)
    } else {
        format!("{mid:.0} ns")
    }
}
