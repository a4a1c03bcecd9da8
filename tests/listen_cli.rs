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
    for args in [&["--help"][..], &["listen", "--help"], &[]] {
        let out = cli(args);
        assert!(out.status.success(), "{args:?}");
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(
            text.contains("usage: otel-os-events listen <provider>"),
            "{text}"
        );
    }
}

#[test]
fn usage_errors_exit_2_with_a_message_on_stderr() {
    for (args, msg) in [
        (&["listen"][..], "give a provider or --tracepoint"),
        (&["listen", "a;b"], "provider names may hold only"),
        (
            &["listen", "p", "--level", "0"],
            "--level must be 1 or more",
        ),
        (&["listen", "p", "--frob"], "unknown option"),
        (&["launch"], "unknown command"),
    ] {
        let out = cli(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(out.stdout.is_empty());
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(stderr.contains(msg), "{args:?}: {stderr}");
    }
}
