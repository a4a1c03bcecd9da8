//! The books: which (thread, sequence) pairs arrived, and whether what arrived squares with
//! what was emitted, written, dropped and lost.

use super::decode::Origin;

/// What one emitting thread's events looked like on arrival.
#[derive(Default)]
struct ThreadBooks {
    /// Bit `seq` set: sequence number `seq` arrived.
    seen: Vec<u64>,
    /// Distinct sequence numbers that arrived.
    distinct: u64,
    /// The last sequence number seen per reader stream (perf: per CPU ring), to check order.
    last: Vec<Option<u64>>,
}

/// Per-thread arrival records of one configuration.
#[derive(Default)]
pub struct Books {
    threads: Vec<ThreadBooks>,
    /// Events that arrived, decodable or not.
    pub received: u64,
    /// Events whose thread index or sequence number was already seen.
    pub duplicates: u64,
    /// Events that arrived in a stream after a later sequence number of the same thread.
    pub out_of_order: u64,
    /// Events that did not decode, or lacked the stress attributes, or named a thread that
    /// does not exist.
    pub undecodable: u64,
}

impl Books {
    /// Books for `threads` emitting threads.
    pub fn new(threads: usize) -> Books {
        Books {
            threads: (0..threads).map(|_| ThreadBooks::default()).collect(),
            ..Books::default()
        }
    }

    /// Records one arrival, read from reader stream `stream` (a perf CPU ring; 0 for the
    /// capture). Within one stream a thread's events must arrive in the order it emitted
    /// them: the kernel appends to a CPU's ring in write order, and one thread's writes (sync)
    /// or the flush thread's (queued, FIFO) follow the thread's emit order.
    pub fn record(&mut self, stream: usize, origin: Option<Origin>) {
        self.received += 1;
        let Some(o) = origin else {
            self.undecodable += 1;
            return;
        };
        let Some(t) = usize::try_from(o.thread)
            .ok()
            .and_then(|t| self.threads.get_mut(t))
        else {
            self.undecodable += 1;
            return;
        };
        let (word, bit) = ((o.seq / 64) as usize, o.seq % 64);
        if t.seen.len() <= word {
            t.seen.resize(word + 1, 0);
        }
        if t.seen[word] & (1 << bit) != 0 {
            self.duplicates += 1;
        } else {
            t.seen[word] |= 1 << bit;
            t.distinct += 1;
        }
        if t.last.len() <= stream {
            t.last.resize(stream + 1, None);
        }
        if t.last[stream].is_some_and(|last| o.seq <= last) {
            self.out_of_order += 1;
        }
        t.last[stream] = Some(o.seq);
    }

    /// Sequence numbers of thread `t` that never arrived, given it emitted `emitted` (numbered
    /// `0..emitted`), plus any that arrived beyond `emitted` (which cannot be real).
    pub fn missing(&self, t: usize, emitted: u64) -> (u64, u64) {
        let Some(books) = self.threads.get(t) else {
            return (emitted, 0);
        };
        let first = (emitted / 64) as usize;
        let beyond: u64 = books
            .seen
            .iter()
            .enumerate()
            .skip(first)
            .map(|(word, bits)| {
                let mask = if word == first {
                    !0u64 << (emitted % 64)
                } else {
                    !0
                };
                u64::from((bits & mask).count_ones())
            })
            .sum();
        (emitted - (books.distinct - beyond), beyond)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(thread: u64, seq: u64) -> Option<Origin> {
        Some(Origin { thread, seq })
    }

    #[test]
    fn balanced_when_everything_arrives_once_in_order() {
        let mut b = Books::new(2);
        for seq in 0..130 {
            b.record(0, at(0, seq));
            b.record((seq % 2) as usize, at(1, seq));
        }
        assert_eq!(
            (b.received, b.duplicates, b.out_of_order, b.undecodable),
            (260, 0, 0, 0)
        );
        assert_eq!(b.missing(0, 130), (0, 0));
        assert_eq!(b.missing(1, 130), (0, 0));
    }

    #[test]
    fn counts_duplicates_gaps_disorder_and_strangers() {
        let mut b = Books::new(1);
        for seq in [0, 1, 1, 3, 2, 70, 200] {
            b.record(0, at(0, seq));
        }
        b.record(1, at(0, 4)); // another stream: its own order
        b.record(0, at(5, 0)); // no thread 5
        b.record(0, None);
        assert_eq!(b.received, 10);
        assert_eq!(b.duplicates, 1);
        assert_eq!(b.out_of_order, 2, "1 after 1, 2 after 3");
        assert_eq!(b.undecodable, 2);
        // Emitted 0..71: arrived 0-4 and 70 (6 of 71), and 200 cannot be real.
        assert_eq!(b.missing(0, 71), (65, 1));
    }
}
