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

/// Index 0..5 of a level 1..=5 in a per-level table.
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
        }
    }
}
