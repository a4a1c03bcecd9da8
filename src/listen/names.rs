//! Tracepoint names: EventHeader name formatting, validation, and `system:name` parsing.

use super::error::ListenError;
use crate::error::is_eventheader_name;

/// The tracefs system user_events tracepoints live in.
pub const USER_EVENTS_SYSTEM: &str = "user_events";

/// Longest tracepoint name the kernel accepts for user_events, in bytes, without the NUL
/// (the whole name must be under 256 bytes with its NUL).
pub const MAX_TRACEPOINT_NAME_LEN: usize = 255;

fn invalid(name: &str, reason: &'static str) -> ListenError {
    ListenError::InvalidName {
        name: name.to_string(),
        reason,
    }
}

/// Checks an EventHeader provider name: non-empty, `[A-Za-z0-9_]` only (the library's rule,
/// [`is_eventheader_name`]; the length is checked on the whole tracepoint name).
fn validate_provider_name(provider: &str) -> Result<(), ListenError> {
    if provider.is_empty() {
        return Err(invalid(provider, "provider name is empty"));
    }
    if !is_eventheader_name(provider) {
        return Err(invalid(
            provider,
            "provider names may hold only A-Z, a-z, 0-9 and _",
        ));
    }
    Ok(())
}

/// The EventHeader tracepoint name for a provider, level and keyword:
/// `<provider>_L<level hex>K<keyword hex>`, lowercase hex without leading zeros
/// (for example `myprovider_L4K1`, `p_LaK1f`).
///
/// Fails if the provider name is invalid, the level is 0, or the name would be too long.
pub fn eventheader_tracepoint_name(
    provider: &str,
    level: u8,
    keyword: u64,
) -> Result<String, ListenError> {
    validate_provider_name(provider)?;
    if level == 0 {
        return Err(invalid(provider, "level must be 1 or more"));
    }
    let name = crate::error::eventheader_tracepoint_name(provider, level, keyword);
    if name.len() > MAX_TRACEPOINT_NAME_LEN {
        return Err(invalid(provider, "tracepoint name would exceed 255 bytes"));
    }
    Ok(name)
}

/// Checks that `name` is a whole EventHeader tracepoint name that is safe to register:
/// `[A-Za-z0-9_]` only, at most [`MAX_TRACEPOINT_NAME_LEN`] bytes, and ending in
/// `_L<hex>K<hex>` optionally followed by options (`[A-Z][0-9a-z]*`, e.g. `Gmygroup`).
pub fn validate_eventheader_tracepoint_name(name: &str) -> Result<(), ListenError> {
    if name.len() > MAX_TRACEPOINT_NAME_LEN {
        return Err(invalid(name, "tracepoint names are at most 255 bytes"));
    }
    if !is_eventheader_name(name) {
        return Err(invalid(
            name,
            "EventHeader tracepoint names may hold only A-Z, a-z, 0-9 and _",
        ));
    }
    let Some(underscore) = name.rfind('_') else {
        return Err(invalid(name, "expected <provider>_L<level>K<keyword>"));
    };
    if underscore == 0 {
        return Err(invalid(name, "provider name is empty"));
    }
    let suffix = &name.as_bytes()[underscore + 1..];
    let hex_run = |s: &[u8]| {
        s.iter()
            .take_while(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
            .count()
    };
    let ok = (|| {
        let rest = suffix.strip_prefix(b"L")?;
        let n = hex_run(rest);
        let rest = rest[n..].strip_prefix(b"K").filter(|_| n > 0)?;
        let n = hex_run(rest);
        let options = &rest[n..];
        (n > 0 && options.first().is_none_or(|b| b.is_ascii_uppercase())).then_some(())
    })();
    ok.ok_or_else(|| {
        invalid(
            name,
            "expected <provider>_L<level hex>K<keyword hex>[options]",
        )
    })
}

/// Splits a tracepoint spec into `(system, name)`: `name` means `user_events:name`;
/// `system:name` names another system (e.g. `user_events_multi:ev.0`).
///
/// Rejects empty parts and anything that could escape the tracefs `events/` directory or
/// that the kernel never puts in a name (`/`, whitespace, NUL, `.` or `..`).
pub fn split_tracepoint(spec: &str) -> Result<(&str, &str), ListenError> {
    let (system, name) = match spec.split_once(':') {
        Some((s, n)) => (s, n),
        None => (USER_EVENTS_SYSTEM, spec),
    };
    for part in [system, name] {
        if part.is_empty() {
            return Err(invalid(spec, "empty system or tracepoint name"));
        }
        if part == "." || part == ".." {
            return Err(invalid(spec, "'.' and '..' are not tracepoint names"));
        }
        if part
            .chars()
            .any(|c| c == '/' || c == ':' || c == '\0' || c.is_whitespace())
        {
            return Err(invalid(
                spec,
                "tracepoint names may not hold '/', ':', NUL or whitespace",
            ));
        }
    }
    Ok((system, name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_lowercase_hex_without_leading_zeros() {
        assert_eq!(eventheader_tracepoint_name("p", 4, 1).unwrap(), "p_L4K1");
        assert_eq!(
            eventheader_tracepoint_name("My_Prov2", 10, 0xABC).unwrap(),
            "My_Prov2_LaKabc"
        );
        assert_eq!(eventheader_tracepoint_name("p", 5, 0).unwrap(), "p_L5K0");
        assert_eq!(
            eventheader_tracepoint_name("p", 255, u64::MAX).unwrap(),
            "p_LffKffffffffffffffff"
        );
    }

    #[test]
    fn rejects_injecting_provider_names() {
        for bad in ["", "a b", "a;u32 x", "a\0", "é", "a-b", "a:b", "a/b"] {
            assert!(
                matches!(
                    eventheader_tracepoint_name(bad, 4, 1),
                    Err(ListenError::InvalidName { .. })
                ),
                "{bad:?}"
            );
        }
        assert!(eventheader_tracepoint_name("p", 0, 1).is_err());
        assert!(eventheader_tracepoint_name(&"x".repeat(251), 4, 1).is_err());
        assert!(eventheader_tracepoint_name(&"x".repeat(250), 4, 1).is_ok());
    }

    #[test]
    fn validates_whole_eventheader_names() {
        for good in [
            "p_L4K1",
            "my_prov_L5K0",
            "p_L1Kff",
            "p_L4K1Gmygroup",
            "_x_L4K1",
        ] {
            validate_eventheader_tracepoint_name(good).unwrap_or_else(|e| panic!("{good}: {e}"));
        }
        for bad in [
            "p",
            "p_",
            "_L4K1",
            "p_L4",
            "p_LK1",
            "p_L4K",
            "p_L4K1 u32 x",
            "p_L4K1;u32 x",
            "p_L4KG",
            "p_L4K1g",
            "p_LAK1",
        ] {
            assert!(
                validate_eventheader_tracepoint_name(bad).is_err(),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn splits_system_and_name() {
        assert_eq!(
            split_tracepoint("p_L4K1").unwrap(),
            ("user_events", "p_L4K1")
        );
        assert_eq!(
            split_tracepoint("user_events_multi:ev.0").unwrap(),
            ("user_events_multi", "ev.0")
        );
        for bad in [
            "",
            ":x",
            "x:",
            "a:b:c",
            "../x",
            "..",
            "user_events:..",
            "a b",
            "x/y",
        ] {
            assert!(split_tracepoint(bad).is_err(), "{bad:?}");
        }
    }
}
