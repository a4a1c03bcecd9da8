//! Whether the books of one configuration balance.

use super::options::ModeArg;
use super::run::Outcome;

/// Everything that does not balance in `o`; empty if the books balance.
///
/// - The processor: `accepted = written + dropped`, and with a listener `accepted = emitted`.
/// - The reader: `received + lost = written` (with a sentinel seen from every CPU, so `lost`
///   is complete); no duplicates, no event out of order within
///   a stream, nothing undecodable or skipped; the sequence numbers that never arrived are
///   exactly `dropped + lost`, so every gap is accounted for.
/// - Sync mode drops nothing, so there `received + lost = emitted`; queued mode may drop
///   (full queue), so there `received + dropped + lost = emitted`.
pub fn problems(o: &Outcome) -> Vec<String> {
    let s = &o.stats;
    let emitted = o.total_emitted();
    let dropped = s.dropped_total();
    let mut p = Vec::new();
    if s.accepted != s.written + dropped {
        p.push(format!(
            "accepted {} != written {} + dropped {dropped}",
            s.accepted, s.written
        ));
    }
    let Some(books) = &o.books else {
        return p;
    };
    if s.accepted != emitted {
        p.push(format!("accepted {} != emitted {emitted}", s.accepted));
    }
    if o.config.mode == ModeArg::Sync && dropped != 0 {
        p.push(format!("sync mode dropped {dropped}: {:?}", s.dropped));
    }
    if books.received + o.lost != s.written {
        p.push(format!(
            "received {} + lost {} != written {}",
            books.received, o.lost, s.written
        ));
    }
    for (what, n) in [
        ("duplicates", books.duplicates),
        ("out of order", books.out_of_order),
        ("undecodable", books.undecodable),
        ("skipped perf records", o.skipped),
    ] {
        if n != 0 {
            p.push(format!("{what}: {n}"));
        }
    }
    if !o.no_sentinel.is_empty() {
        p.push(format!(
            "no sentinel from CPUs {:?}: lost samples pending there were never reported",
            o.no_sentinel
        ));
    }
    let (mut missing, mut beyond) = (0, 0);
    for (t, &n) in o.emitted.iter().enumerate() {
        let (m, b) = books.missing(t, n);
        missing += m;
        beyond += b;
    }
    if beyond != 0 {
        p.push(format!("{beyond} sequence numbers beyond what was emitted"));
    }
    if missing != dropped + o.lost {
        p.push(format!(
            "gaps: {missing} sequence numbers missing != dropped {dropped} + lost {}",
            o.lost
        ));
    }
    p
}
