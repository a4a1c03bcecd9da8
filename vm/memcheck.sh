#!/usr/bin/env bash
# Memory errors, on the host (no VM, no kernel needed):
#
#  1. Miri runs the unit tests of the pure code that holds pointer work: the perf ring parser
#     (src/listen/ring.rs), the ring reader's pointer arithmetic on heap memory standing in
#     for the mapping (src/listen/perf.rs), the JSON decoding of samples (src/listen/json.rs)
#     and the event encoder with its buffer marks (src/encode/event.rs, text.rs). Tests that
#     make syscalls are not selected: Miri cannot run them.
#  2. libFuzzer (cargo-fuzz, AddressSanitizer, debug assertions on) runs each target in
#     fuzz/ for a bounded time: `ring` (ring::drain + parse_record over arbitrary ring bytes,
#     head, tail and sizes) and `json` (PerfEvent::to_json over arbitrary sample bytes,
#     tracepoint names and tracefs formats). Seeds: fuzz/corpus/<target>/ (regenerate with
#     `cargo run --manifest-path fuzz/Cargo.toml --example make_seeds`); what the fuzzer
#     adds is kept under the cache, not in the tree. A crash input is saved in
#     fuzz/artifacts/<target>/;
#     `cargo run --manifest-path fuzz/Cargo.toml --example replay -- <target> <file>`
#     replays it natively.
#
# Installs what it needs (the nightly toolchain with miri and rust-src, a C++ compiler for
# libFuzzer, cargo-fuzz) and caches under ~/.cache/otel-os-events/. Fails naming the step;
# every step logs its wall time.
#
#   vm/memcheck.sh
#
# Environment:
#   OTEL_OS_EVENTS_NIGHTLY        the toolchain (default: nightly, the one vm/asan.sh uses)
#   OTEL_OS_EVENTS_FUZZ_SECONDS   libFuzzer's time per target (default 60)
#   OTEL_OS_EVENTS_VM_CACHE       the cache root (default ~/.cache/otel-os-events)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
STEP_STARTED=$SECONDS
log() { printf 'memcheck: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
# shellcheck source=vm/lib.sh
source vm/lib.sh

TOOLCHAIN=${OTEL_OS_EVENTS_NIGHTLY:-nightly}
FUZZ_SECONDS=${OTEL_OS_EVENTS_FUZZ_SECONDS:-60}
CACHE_ROOT=${OTEL_OS_EVENTS_VM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/otel-os-events}
CARGO_FUZZ_VERSION=0.13.2
TOOLS=$CACHE_ROOT/tools
export MIRI_SYSROOT=$CACHE_ROOT/miri/sysroot
FUZZ_TARGET_DIR=$CACHE_ROOT/fuzz/target
FUZZ_CORPUS=$CACHE_ROOT/fuzz/corpus
FUZZ_TARGETS=(ring json)
# The unit tests Miri runs (libtest substring filters); each must match at least one test.
MIRI_FILTERS=(listen::ring:: listen::perf::tests listen::json:: encode::event:: encode::text::)
LOGS=$root/target/memcheck-logs
mkdir -p "$LOGS"
export PATH=$TOOLS/bin:$PATH

# The step bodies run without `set -e` (lib.sh's step tests their status): each returns
# the status of what failed.

toolchain() {
    command -v rustup >/dev/null || {
        log "rustup is not installed"
        return 1
    }
    if rustup run "$TOOLCHAIN" rustc --version >/dev/null 2>&1; then
        rustup component add --toolchain "$TOOLCHAIN" miri rust-src || return
    else
        # --no-self-update: installing a toolchain must not replace rustup itself.
        rustup toolchain install "$TOOLCHAIN" --profile minimal --component miri,rust-src \
            --no-self-update || return
    fi
    rustup run "$TOOLCHAIN" rustc --version >&2 && cargo "+$TOOLCHAIN" miri --version >&2
}

# libFuzzer is C++, compiled by libfuzzer-sys's build script.
cxx() {
    command -v c++ >/dev/null || apt_install g++
    c++ --version | sed -n 1p >&2
}

cargo_fuzz() {
    if [[ $("$TOOLS/bin/cargo-fuzz" --version 2>/dev/null) != "cargo-fuzz $CARGO_FUZZ_VERSION" ]]; then
        cargo install --locked --quiet cargo-fuzz --version "$CARGO_FUZZ_VERSION" --root "$TOOLS" \
            || return
    fi
    "$TOOLS/bin/cargo-fuzz" --version >&2
}

miri_sysroot() {
    mkdir -p "$MIRI_SYSROOT" && cargo "+$TOOLCHAIN" miri setup
}

miri_tests() {
    local log=$LOGS/miri.log f
    # One test thread: Miri runs threads one at a time anyway, and with one its data-race
    # bookkeeping stays off, which halves the run.
    cargo "+$TOOLCHAIN" miri test --lib --features cli -- "${MIRI_FILTERS[@]}" --test-threads=1 \
        2>&1 | tee "$log"
    local status=${PIPESTATUS[0]}
    ((status == 0)) || return "$status"
    # A filter that matched nothing would pass silently.
    for f in "${MIRI_FILTERS[@]}"; do
        grep -q "^test ${f}.* \.\.\. ok$" "$log" || {
            log "no test matched the filter $f"
            return 1
        }
    done
}

fuzz_build() {
    cargo "+$TOOLCHAIN" fuzz build --fuzz-dir fuzz --debug-assertions --target-dir "$FUZZ_TARGET_DIR"
}

fuzz_run() {
    local target=$1
    local log=$LOGS/fuzz-$target.log status=0
    mkdir -p "$FUZZ_CORPUS/$target" || return
    # New inputs go to the first corpus directory (cached); the committed seeds are only
    # read. -timeout: an input that runs 10 s counts as a hang, a failure.
    cargo "+$TOOLCHAIN" fuzz run --fuzz-dir fuzz --debug-assertions --target-dir "$FUZZ_TARGET_DIR" \
        "$target" "$FUZZ_CORPUS/$target" "fuzz/corpus/$target" -- \
        -max_total_time="$FUZZ_SECONDS" -timeout=10 >"$log" 2>&1 || status=$?
    grep -aE '^(#[0-9]+[[:space:]]+(INITED|DONE)|Done [0-9]+ runs)' "$log" >&2
    if ((status != 0)); then
        log "--- the end of $log:"
        tail -n 60 "$log" >&2
        find fuzz/artifacts/"$target" -type f 2>/dev/null | sed 's/^/memcheck: crash input: /' >&2
    fi
    return "$status"
}

step "nightly toolchain ($TOOLCHAIN) with miri and rust-src" toolchain
step "C++ compiler for libFuzzer" cxx
step "cargo-fuzz $CARGO_FUZZ_VERSION (in $TOOLS)" cargo_fuzz
step "Miri sysroot (in $MIRI_SYSROOT)" miri_sysroot
step "Miri: unit tests of the ring parser and reader, the JSON decoding, the encoder" miri_tests
step "cargo fuzz build (AddressSanitizer, debug assertions)" fuzz_build
for target in "${FUZZ_TARGETS[@]}"; do
    step "fuzz $target for ${FUZZ_SECONDS} s" fuzz_run "$target"
done
log "Miri and ${#FUZZ_TARGETS[@]} fuzz targets found nothing, in $((SECONDS - STEP_STARTED)) s"
