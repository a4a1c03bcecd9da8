//! Whether the books of one configuration balance.

use otel_os_events::DropReason;

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
///   (full queue, byte budget), so there `received + dropped + lost = emitted`.
/// - A storm (`--storm`): the events emitted while nobody listened are `unlistened =
///   emitted - accepted`: the processor took none of them on, and the gaps are exactly
///   `dropped + lost + unlistened`. The only drops are those a detach explains (the write
///   refused with EBADF, or the flush thread finding nobody listening) and the queue's own.
///   On user_events the books come from ftrace's ring: what it recorded is what was
///   written, except the writes the kernel took while it was detaching ftrace (see
///   `vanished` below).
/// - Queued mode on user_events: the heap once everything was written is within twice what
///   it was at rest, plus the budget, plus the queue's fixed arrays (about 56 bytes per unit
///   of `--capacity`: 3.5 MiB at the stress default, 224 KiB at the crate's).
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
    if let (Some((rest, end)), Some(budget)) = (o.rss, o.max_bytes) {
        if end > 2 * rest + budget as u64 + o.fixed_bytes {
            p.push(format!(
                "heap {end} bytes at the end > 2 × {rest} at rest + the budget {budget} + the queue's arrays {}",
                o.fixed_bytes
            ));
        }
    }
    if o.storm {
        if s.accepted > emitted {
            p.push(format!("accepted {} > emitted {emitted}", s.accepted));
        }
        for (reason, n) in &s.dropped {
            let explained = match reason {
                DropReason::WriteError { errno } => *errno == libc_ebadf(),
                DropReason::NoListener => o.config.mode == ModeArg::Queued,
                DropReason::QueueFull | DropReason::QueueBytes => o.config.mode == ModeArg::Queued,
                _ => false,
            };
            if !explained {
                p.push(format!(
                    "{n} dropped for {reason}, which no detach explains"
                ));
            }
        }
        if let Some(recorded) = o.ftrace_recorded {
            if recorded > s.written {
                p.push(format!(
                    "ftrace recorded {recorded} > written {}",
                    s.written
                ));
            }
        }
    }
    let Some(books) = &o.books else {
        return p;
    };
    let unlistened = if o.storm {
        emitted.saturating_sub(s.accepted)
    } else {
        if s.accepted != emitted {
            p.push(format!("accepted {} != emitted {emitted}", s.accepted));
        }
        0
    };
    if o.config.mode == ModeArg::Sync && !o.storm && dropped != 0 {
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
    if missing != dropped + o.lost + unlistened {
        p.push(format!(
            "gaps: {missing} sequence numbers missing != dropped {dropped} + lost {} + unlistened {unlistened}",
            o.lost
        ));
    }
    p
}

/// EBADF: the kernel's answer to a write nobody listens to any more.
fn libc_ebadf() -> i32 {
    9
}
