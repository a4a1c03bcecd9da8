//! OpenTelemetry severity to EventHeader level.

use eventheader::Level;
use opentelemetry::logs::Severity;

/// The EventHeader level of a severity: fatal → 1 (critical), error → 2, warn → 3,
/// info → 4, debug and trace → 5 (verbose). The same mapping as the existing exporters, so
/// a record lands on the tracepoint agents already listen to.
pub fn level_of(severity: Severity) -> Level {
    match severity as u8 {
        21..=24 => Level::CriticalError,
        17..=20 => Level::Error,
        13..=16 => Level::Warning,
        9..=12 => Level::Informational,
        _ => Level::Verbose,
    }
}

/// The tracepoint index (`level − 1`, 0..=4) of each severity number, looked up in a table:
/// the disabled path's only arithmetic (the same as `level_index(level_of(severity))`).
#[inline(always)]
pub(crate) fn severity_index(severity: Severity) -> usize {
    const TABLE: [u8; 256] = {
        let mut table = [4u8; 256];
        let mut n = 0;
        while n < 256 {
            table[n] = match n {
                21..=24 => 0,
                17..=20 => 1,
                13..=16 => 2,
                9..=12 => 3,
                _ => 4,
            };
            n += 1;
        }
        table
    };
    usize::from(TABLE[usize::from(severity as u8)])
}

/// Index 0..5 of a level 1..=5 in a per-level table (the tests check `severity_index` by it).
#[cfg(test)]
#[inline]
pub(crate) fn level_index(level: Level) -> usize {
    usize::from(level.as_int().clamp(1, 5) - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_severity_has_its_level() {
        use Severity::*;
        let cases = [
            (Trace, 5),
            (Trace2, 5),
            (Trace3, 5),
            (Trace4, 5),
            (Debug, 5),
            (Debug2, 5),
            (Debug3, 5),
            (Debug4, 5),
            (Info, 4),
            (Info2, 4),
            (Info3, 4),
            (Info4, 4),
            (Warn, 3),
            (Warn2, 3),
            (Warn3, 3),
            (Warn4, 3),
            (Error, 2),
            (Error2, 2),
            (Error3, 2),
            (Error4, 2),
            (Fatal, 1),
            (Fatal2, 1),
            (Fatal3, 1),
            (Fatal4, 1),
        ];
        for (severity, level) in cases {
            assert_eq!(level_of(severity).as_int(), level, "{severity:?}");
            assert_eq!(
                severity_index(severity),
                level_index(level_of(severity)),
                "{severity:?}"
            );
        }
    }
}
