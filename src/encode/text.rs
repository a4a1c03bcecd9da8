//! Text written straight into an event buffer, with no heap allocation: RFC 3339 times,
//! decimal numbers, lowercase hex, and JSON for values that have no EventHeader shape.

use std::cell::Cell;
use std::time::{SystemTime, UNIX_EPOCH};

use opentelemetry::logs::AnyValue;

/// Deepest nesting the JSON writer follows; anything deeper is written as the string
/// `"[nested too deep]"`.
pub(crate) const JSON_MAX_DEPTH: usize = 32;

/// Appends `t` as RFC 3339 in UTC with `Z` and the fewest fractional digits of 0, 3, 6
/// or 9 that show it exactly, as both peers write times (chrono's `SecondsFormat::AutoSi`):
/// `2024-05-06T07:08:09Z`, `…:09.120Z`, `…:09.123456789Z`. Times before 1970 work; years
/// beyond 9999 are written with more digits.
pub(crate) fn write_rfc3339(out: &mut Vec<u8>, t: SystemTime) {
    let (secs, nanos): (i64, u32) = match t.duration_since(UNIX_EPOCH) {
        Ok(d) => (
            i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            d.subsec_nanos(),
        ),
        Err(e) => {
            let d = e.duration();
            let mut s = -i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
            let mut n = d.subsec_nanos();
            if n > 0 {
                s -= 1;
                n = 1_000_000_000 - n;
            }
            (s, n)
        }
    };
    // Events come in bursts within the same second: this thread's last date and time (up
    // to the seconds) is reused, and only the fraction is formatted.
    let cached = LAST_SECOND.try_with(|c| {
        let (s, prefix) = c.get();
        (s == secs).then_some(prefix)
    });
    let (fraction, fraction_len) = fraction(nanos);
    if let Ok(Some(prefix)) = cached {
        // The whole time at once: prefix, fraction, `Z`.
        let mut text = [0u8; PREFIX_LEN + 11];
        text[..PREFIX_LEN].copy_from_slice(&prefix);
        text[PREFIX_LEN..PREFIX_LEN + 10].copy_from_slice(&fraction);
        text[PREFIX_LEN + fraction_len] = b'Z';
        // All of it and cut back: one fixed-size store instead of a call to `memcpy`.
        let end = out.len() + PREFIX_LEN + fraction_len + 1;
        out.extend_from_slice(&text);
        out.truncate(end);
        return;
    }
    let start = out.len();
    write_seconds(out, secs);
    if let Ok(prefix) = <[u8; PREFIX_LEN]>::try_from(&out[start..]) {
        let _ = LAST_SECOND.try_with(|c| c.set((secs, prefix)));
    }
    out.extend_from_slice(&fraction[..fraction_len]);
    out.push(b'Z');
}

/// `.` and nine digits, and how many of those bytes to write: none for a whole second,
/// else the `.` and 3, 6 or 9 digits, the fewest that show `nanos` exactly.
fn fraction(nanos: u32) -> ([u8; 10], usize) {
    let mut text = [b'.'; 10];
    text[1..].copy_from_slice(&nine_digits(nanos));
    let digits = match nanos {
        0 => return (text, 0),
        n if n % 1_000_000 == 0 => 3,
        n if n % 1_000 == 0 => 6,
        _ => 9,
    };
    (text, 1 + digits)
}

/// `YYYY-MM-DDTHH:MM:SS`: the part of a time shared by a whole second (years 0..=9999).
const PREFIX_LEN: usize = 19;

thread_local! {
    /// The second and its prefix this thread formatted last.
    static LAST_SECOND: Cell<(i64, [u8; PREFIX_LEN])> = const { Cell::new((i64::MIN, [0; PREFIX_LEN])) };
}

/// Appends `YYYY-MM-DDTHH:MM:SS` for `secs` since the epoch.
fn write_seconds(out: &mut Vec<u8>, secs: i64) {
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400) as u32;
    let (y, m, d) = civil_from_days(days);
    if (0..=9999).contains(&y) {
        push_digits(out, y as u64, 4);
    } else {
        if y < 0 {
            out.push(b'-');
        }
        push_digits(out, y.unsigned_abs(), 4);
    }
    out.push(b'-');
    push_digits(out, u64::from(m), 2);
    out.push(b'-');
    push_digits(out, u64::from(d), 2);
    out.push(b'T');
    push_digits(out, u64::from(sod / 3600), 2);
    out.push(b':');
    push_digits(out, u64::from(sod / 60 % 60), 2);
    out.push(b':');
    push_digits(out, u64::from(sod % 60), 2);
}

/// `nanos` (below 10^9) as exactly nine digits: the one fixed-width number of every record,
/// so it has its own loop of constant length (which the compiler unrolls into multiplies),
/// about 150 instructions cheaper per record than [`decimal`]'s general one.
fn nine_digits(nanos: u32) -> [u8; 9] {
    let mut digits = [b'0'; 9];
    let mut v = nanos;
    // Two digits at a time from a table of "00".."99", then the first digit.
    for pair in digits[1..].rchunks_exact_mut(2) {
        let at = (v % 100) as usize * 2;
        pair.copy_from_slice(&DIGIT_PAIRS[at..at + 2]);
        v /= 100;
    }
    digits[0] = b'0' + (v % 10) as u8;
    digits
}

/// "00", "01", … "99", concatenated.
const DIGIT_PAIRS: [u8; 200] = {
    let mut t = [0u8; 200];
    let mut i = 0;
    while i < 100 {
        t[2 * i] = b'0' + (i / 10) as u8;
        t[2 * i + 1] = b'0' + (i % 10) as u8;
        i += 1;
    }
    t
};

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar
/// (Howard Hinnant's `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z.saturating_add(719_468);
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11]
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32; // [1, 31]
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32; // [1, 12]
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Appends `v` in decimal, zero-padded to at least `width` digits.
fn push_digits(out: &mut Vec<u8>, v: u64, width: usize) {
    out.extend_from_slice(decimal(&mut [0; 20], v, width));
}

/// `v` in decimal ASCII digits, zero-padded to at least `width` digits (at most 20), formatted
/// on the stack at the end of `out`: the crate's one decimal formatter (times, struct names
/// such as `PartC_2`, field names such as `0`).
pub(crate) fn decimal(out: &mut [u8; 20], mut v: u64, width: usize) -> &[u8] {
    let width = width.min(out.len());
    let mut i = out.len();
    while v > 0 || out.len() - i < width {
        i -= 1;
        out[i] = b'0' + (v % 10) as u8;
        v /= 10;
    }
    &out[i..]
}

/// Appends `bytes` as lowercase hex.
pub(crate) fn write_hex(out: &mut Vec<u8>, bytes: &[u8]) {
    // Formatted 16 bytes at a time on the stack, two digits per table look-up, then
    // appended at once.
    let mut text = [0u8; 32];
    for part in bytes.chunks(16) {
        for (pair, b) in text.chunks_exact_mut(2).zip(part) {
            let at = usize::from(*b) * 2;
            pair.copy_from_slice(&HEX_PAIRS[at..at + 2]);
        }
        // All of it and cut back: one fixed-size store instead of a call to `memcpy`.
        let end = out.len() + 2 * part.len();
        out.extend_from_slice(&text);
        out.truncate(end);
    }
}

/// "00", "01", … "ff", concatenated.
const HEX_PAIRS: [u8; 512] = {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut t = [0u8; 512];
    let mut i = 0;
    while i < 256 {
        t[2 * i] = HEX[i >> 4];
        t[2 * i + 1] = HEX[i & 15];
        i += 1;
    }
    t
};

/// Appends `value` as JSON. NaN and infinities (which JSON lacks) become the strings
/// `"NaN"`, `"Infinity"`, `"-Infinity"`; bytes become a hex string; nesting deeper than
/// [`JSON_MAX_DEPTH`] becomes `"[nested too deep]"`. Map keys come in the map's order.
///
/// Writing stops soon after `limit` bytes (the caller cuts the text there), so a huge value
/// costs no more than the space it may take.
pub(crate) fn write_json(out: &mut Vec<u8>, value: &AnyValue, limit: usize) {
    let stop = out.len().saturating_add(limit);
    write_json_at(out, value, 0, stop);
}

fn write_json_at(out: &mut Vec<u8>, value: &AnyValue, depth: usize, stop: usize) {
    if out.len() > stop {
        return;
    }
    if depth >= JSON_MAX_DEPTH {
        out.extend_from_slice(b"\"[nested too deep]\"");
        return;
    }
    match value {
        AnyValue::Int(i) => push_i64(out, *i),
        AnyValue::Double(f) => write_json_f64(out, *f),
        AnyValue::String(s) => write_json_str(out, s.as_str()),
        AnyValue::Boolean(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        AnyValue::Bytes(b) => {
            out.push(b'"');
            write_hex(out, b);
            out.push(b'"');
        }
        AnyValue::ListAny(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if out.len() > stop {
                    break;
                }
                if i > 0 {
                    out.push(b',');
                }
                write_json_at(out, item, depth + 1, stop);
            }
            out.push(b']');
        }
        AnyValue::Map(map) => {
            out.push(b'{');
            for (i, (k, v)) in map.iter().enumerate() {
                if out.len() > stop {
                    break;
                }
                if i > 0 {
                    out.push(b',');
                }
                write_json_str(out, k.as_str());
                out.push(b':');
                write_json_at(out, v, depth + 1, stop);
            }
            out.push(b'}');
        }
        // AnyValue is non-exhaustive: a kind added later is still written, as its debug text.
        #[allow(unreachable_patterns)]
        other => {
            use std::io::Write as _;
            let mut s = Vec::new();
            let _ = write!(s, "{other:?}");
            write_json_str(out, &String::from_utf8_lossy(&s));
        }
    }
}

fn push_i64(out: &mut Vec<u8>, v: i64) {
    if v < 0 {
        out.push(b'-');
    }
    push_digits(out, v.unsigned_abs(), 1);
}

fn write_json_f64(out: &mut Vec<u8>, f: f64) {
    use std::io::Write as _;
    if f.is_nan() {
        out.extend_from_slice(b"\"NaN\"");
    } else if f.is_infinite() {
        out.extend_from_slice(if f > 0.0 {
            b"\"Infinity\""
        } else {
            b"\"-Infinity\""
        });
    } else {
        // `{:?}` prints the shortest text that reads back as the same f64; writing into a
        // Vec never fails.
        let _ = write!(out, "{f:?}");
    }
}

/// Appends `s` as a JSON string literal with the escapes JSON requires.
pub(crate) fn write_json_str(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    for &b in s.as_bytes() {
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0..=0x1f => {
                out.extend_from_slice(b"\\u00");
                write_hex(out, &[b]);
            }
            _ => out.push(b),
        }
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn decimal_pads_to_the_width_and_keeps_every_digit() {
        let mut b = [0; 20];
        assert_eq!(decimal(&mut b, 0, 1), b"0");
        assert_eq!(decimal(&mut b, 7, 2), b"07");
        assert_eq!(decimal(&mut b, 2024, 2), b"2024");
        assert_eq!(decimal(&mut b, 5, 9), b"000000005");
        assert_eq!(decimal(&mut b, 999_999_999, 9), b"999999999");
        assert_eq!(decimal(&mut b, u64::MAX, 1), b"18446744073709551615");
        // A width beyond the buffer pads to the buffer.
        assert_eq!(decimal(&mut b, 42, 30), b"00000000000000000042");
    }

    fn rfc(t: SystemTime) -> String {
        let mut v = Vec::new();
        write_rfc3339(&mut v, t);
        String::from_utf8(v).unwrap()
    }

    /// The nanoseconds a `SystemTime` keeps of `nanos`: all of them on Linux; on Windows it
    /// counts in 100 ns steps (a FILETIME), so 123_456_789 is held as 123_456_700.
    fn kept(nanos: u32) -> u32 {
        if cfg!(windows) {
            nanos - nanos % 100
        } else {
            nanos
        }
    }

    #[test]
    fn rfc3339_reuses_a_second_only_for_that_second() {
        let base = UNIX_EPOCH + Duration::from_secs(1_714_979_289);
        assert_eq!(
            rfc(base + Duration::from_nanos(1)),
            format!("2024-05-06T07:08:09{}Z", auto_si(kept(1)))
        );
        // Same second (cached prefix), other nanoseconds.
        assert_eq!(
            rfc(base + Duration::from_nanos(999_999_999)),
            format!("2024-05-06T07:08:09{}Z", auto_si(kept(999_999_999)))
        );
        // The next second, then back, then a year past 9999 (never cached) and back again.
        assert_eq!(rfc(base + Duration::from_secs(1)), "2024-05-06T07:08:10Z");
        assert_eq!(rfc(base), "2024-05-06T07:08:09Z");
        let far = UNIX_EPOCH + Duration::from_secs(253_402_300_800);
        assert_eq!(rfc(far), "10000-01-01T00:00:00Z");
        assert_eq!(rfc(far), "10000-01-01T00:00:00Z");
        assert_eq!(rfc(base), "2024-05-06T07:08:09Z");
    }

    /// chrono's `SecondsFormat::AutoSi`, which the peers use, spelled out.
    fn auto_si(nanos: u32) -> String {
        match nanos {
            0 => String::new(),
            n if n % 1_000_000 == 0 => format!(".{:03}", n / 1_000_000),
            n if n % 1_000 == 0 => format!(".{:06}", n / 1_000),
            n => format!(".{n:09}"),
        }
    }

    #[test]
    fn rfc3339_shows_the_fewest_of_0_3_6_or_9_digits() {
        let base = UNIX_EPOCH + Duration::from_secs(1_714_979_289);
        for nanos in [
            0,
            120_000_000,
            1_000_000,
            123_456_000,
            5_000,
            123_456_700,
            7,
        ] {
            let nanos = kept(nanos);
            assert_eq!(
                rfc(base + Duration::from_nanos(u64::from(nanos))),
                format!("2024-05-06T07:08:09{}Z", auto_si(nanos)),
                "{nanos}"
            );
        }
        assert_eq!(
            rfc(base + Duration::from_millis(120)),
            "2024-05-06T07:08:09.120Z"
        );
    }

    #[test]
    fn rfc3339_known_instants() {
        assert_eq!(rfc(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        let t = UNIX_EPOCH + Duration::new(1_714_979_289, 123_456_789);
        assert_eq!(
            rfc(t),
            format!("2024-05-06T07:08:09.{:09}Z", kept(123_456_789))
        );
        // 2000-02-29, a leap day in a century leap year.
        assert_eq!(
            rfc(UNIX_EPOCH + Duration::from_secs(951_782_400)),
            "2000-02-29T00:00:00Z"
        );
        // Before 1970: one and a half seconds before the epoch.
        assert_eq!(
            rfc(UNIX_EPOCH - Duration::new(1, 500_000_000)),
            "1969-12-31T23:59:58.500Z"
        );
        assert_eq!(
            rfc(UNIX_EPOCH + Duration::from_secs(253_402_300_799)),
            "9999-12-31T23:59:59Z"
        );
        assert_eq!(
            rfc(UNIX_EPOCH + Duration::from_secs(253_402_300_800)),
            "10000-01-01T00:00:00Z"
        );
    }

    #[test]
    fn json_escapes_and_special_floats() {
        let mut v = Vec::new();
        let map: std::collections::HashMap<opentelemetry::Key, AnyValue> = [(
            "k\"1".into(),
            AnyValue::ListAny(Box::new(vec![
                AnyValue::Double(f64::NAN),
                AnyValue::Double(f64::NEG_INFINITY),
                AnyValue::Double(0.5),
                AnyValue::Int(-7),
                AnyValue::String("a\nb\u{1}".into()),
                AnyValue::Bytes(Box::new(vec![0xde, 0xad])),
                AnyValue::Boolean(true),
            ])),
        )]
        .into_iter()
        .collect();
        write_json(&mut v, &AnyValue::Map(Box::new(map)), usize::MAX);
        assert_eq!(
            String::from_utf8(v).unwrap(),
            r#"{"k\"1":["NaN","-Infinity",0.5,-7,"a\nb\u0001","dead",true]}"#
        );
    }

    #[test]
    fn json_depth_is_bounded() {
        let mut value = AnyValue::Int(1);
        for _ in 0..100 {
            value = AnyValue::ListAny(Box::new(vec![value]));
        }
        let mut v = Vec::new();
        write_json(&mut v, &value, usize::MAX);
        let s = String::from_utf8(v).unwrap();
        let expected = format!(
            "{}\"[nested too deep]\"{}",
            "[".repeat(JSON_MAX_DEPTH),
            "]".repeat(JSON_MAX_DEPTH)
        );
        assert_eq!(s, expected);
    }

    #[test]
    fn json_stops_near_its_limit() {
        let big = AnyValue::ListAny(Box::new(vec![
            AnyValue::String("x".repeat(100).into());
            10_000
        ]));
        let mut v = Vec::new();
        write_json(&mut v, &big, 1_000);
        assert!(v.len() > 1_000 && v.len() < 1_200, "{}", v.len());
    }
}
