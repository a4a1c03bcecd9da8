//! The `otel-os-events` binary's argument handling (no kernel needed).
// Linux only: it runs the `otel-os-events` command, which works only there.
#![cfg(target_os = "linux")]

use std::process::Command;

fn cli(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_otel-os-events"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn help_goes_to_stdout_and_succeeds() {
    for args in [
        &["--help"][..],
        &["listen", "--help"],
        &[],
        &["help", "listen"],
    ] {
        let out = cli(args);
        assert!(out.status.success(), "{args:?}");
        assert!(out.stderr.is_empty(), "{args:?}");
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.contains("otel-os-events listen "), "{text}");
        // The exit statuses are documented in every help.
        assert!(text.contains("Exit status:"), "{text}");
        assert!(text.contains("2  usage error"), "{text}");
    }
    let text = String::from_utf8(cli(&["listen", "--help"]).stdout).unwrap();
    for flag in [
        "<PROVIDER>",
        "--level <N>",
        "--keyword <K>",
        "--tracepoint <NAME>",
        "--count <N>",
        "--timeout <SECS>",
        "--ring-pages <N>",
    ] {
        assert!(text.contains(flag), "{flag} undocumented: {text}");
    }
}

#[test]
fn usage_errors_exit_2_with_a_message_naming_the_bad_argument() {
    for (args, msgs) in [
        (
            &["listen"][..],
            &["<PROVIDER|--tracepoint", "not provided"][..],
        ),
        (
            &["listen", "a;b"],
            &["'a;b'", "provider names may hold only"],
        ),
        (&["listen", "p", "--level", "0"], &["--level", "'0'"]),
        (
            &["listen", "p", "--frob"],
            &["'--frob'", "unexpected argument"],
        ),
        (&["launch"], &["'launch'", "unrecognized subcommand"]),
        (
            &["listen", "p", "--tracepoint", "x_L1K1"],
            &["cannot be used with '--tracepoint"],
        ),
        (
            &["listen", "p", "--ring-pages", "3"],
            &["--ring-pages", "power of two"],
        ),
    ] {
        let out = cli(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(out.stdout.is_empty());
        let stderr = String::from_utf8(out.stderr).unwrap();
        for msg in msgs {
            assert!(stderr.contains(msg), "{args:?}: {msg}: {stderr}");
        }
    }
}
