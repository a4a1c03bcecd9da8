//! Runs one target's checks natively (no libFuzzer, no sanitizer) on the given input files,
//! for debugging a crash artifact with ordinary tools:
//!
//! ```sh
//! cargo run --manifest-path fuzz/Cargo.toml --example replay -- json fuzz/artifacts/json/crash-…
//! ```

fn main() {
    let mut args = std::env::args().skip(1);
    let target = args.next().expect("usage: replay ring|json FILE...");
    let check = match target.as_str() {
        "ring" => otel_os_events_fuzz::check_ring,
        "json" => otel_os_events_fuzz::check_json,
        other => panic!("unknown target {other}: ring or json"),
    };
    for path in args {
        let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        println!("{path}: {} bytes", data.len());
        check(&data);
    }
}
