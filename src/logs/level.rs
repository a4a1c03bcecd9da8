//! OpenTelemetry severity to EventHeader level.

use eventheader::Level;
use opentelemetry::logs::Severity;

/// The EventHeader level of a severity: fatal → 1 (critical), error → 2, warn → 3,
/// info → 4, debug and trace → 5 (verbose). The same mapping as the existing exporters, so
/// a record lands on the tracepoint agents already listen to.
///
/// ```
/// use eventheader::Level;
/// use opentelemetry::logs::Severity;
/// use otel_os_events::logs::level_of;
///
/// assert_eq!(level_of(Severity::Error), Level::Error); // tracepoint <provider>_L2K1
/// assert_eq!(level_of(Severity::Info2), Level::Informational); // L4
/// assert_eq!(level_of(Severity::Trace), Level::Verbose); // L5, as debug
/// ```
pub fn level_of(severity: Severity) -> Level {
    Level::from_int(level_number(severity as u8))
}

/// The level (1..=5) of a severity number (1..=24; anything else is verbose): the mapping,
/// written once for [`level_of`] and the table of [`severity_index`].
const fn level_number(severity: u8) -> u8 {
    match severity {
        21..=24 => 1,
        17..=20 => 2,
        13..=16 => 3,
        9..=12 => 4,
        _ => 5,
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
            table[n] = level_number(n as u8) - 1;
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
