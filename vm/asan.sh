#!/usr/bin/env bash
# AddressSanitizer, inside the VM: every test binary, one short run of each bench and the
# stress harness, built with `-Zsanitizer=address` on the nightly toolchain. The ASan
# runtime is linked statically into each binary, so the VM needs nothing more than
# vm/run.sh already copies in. Any report fails the run (ASan aborts the process).
#
#   vm/asan.sh            (called by vm/test.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
start=$SECONDS
step() { printf '\n=== asan: %s (%ds)\n' "$*" "$((SECONDS - start))" >&2; }
die() { printf 'vm/asan.sh: ERROR: %s\n' "$*" >&2; exit 1; }

step "nightly toolchain"
if ! rustup run nightly rustc --version >/dev/null 2>&1; then
    rustup toolchain install nightly --profile minimal || die "could not install the nightly toolchain"
fi
rustup run nightly rustc --version

host=x86_64-unknown-linux-gnu
# `--target` keeps the sanitizer flags away from build scripts and proc macros. The
# precompiled std is not instrumented: the mismatch is allowed explicitly.
export RUSTFLAGS="-Zsanitizer=address -Cunsafe-allow-abi-mismatch=sanitizer"
export CARGO_TARGET_DIR="$root/target/asan"
# Leak checking needs ptrace-style thread suspension, which PID 1's children in the VM do
# not offer; memory errors (overflow, use after free, double free) are what this run is for.
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:halt_on_error=1"
export OTEL_OS_EVENTS_REQUIRE_KERNEL=1
export CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUNNER="$root/vm/run.sh"
cargo_asan() { cargo +nightly "$@" --target "$host" --all-features; }

step "build (test binaries, benches, stress, the CLI)"
cargo_asan build --workspace --exclude loom-tests --tests --benches --bins
# forward_kernel's collector goes in too (vm/rotel.sh: cached, fetched once).
OTEL_OS_EVENTS_ROTEL=${OTEL_OS_EVENTS_ROTEL:-$(vm/rotel.sh)}
export OTEL_OS_EVENTS_ROTEL
export OTEL_OS_EVENTS_VM_FILES="$CARGO_TARGET_DIR/$host/debug/otel-os-events:$OTEL_OS_EVENTS_ROTEL"
# A build that silently lost the flags would prove nothing: the runtime must be linked in.
# (grep reads all of nm's output: with `grep -q`, nm could die of SIGPIPE and pipefail fail.)
nm "$CARGO_TARGET_DIR/$host/debug/otel-os-events" | grep -c __asan_report_load >/dev/null \
    || die "the CLI was built without AddressSanitizer"

step "every test binary inside the VM"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
cargo_asan test --workspace --exclude loom-tests --exclude stress --tests 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
grep -q 'SKIPPED: no user_events' "$log" && die "an in-VM test skipped: ASan proved nothing there"
grep -q 'ERROR: AddressSanitizer' "$log" && die "AddressSanitizer reported an error"
[[ $status == 0 ]] || die "tests failed under ASan (status $status)"

step "one short run of each bench inside the VM (criterion's test mode: each bench once)"
cargo_asan test --benches

step "stress inside the VM, both modes, with a perf reader"
unset CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUNNER
cargo_asan build -p stress
for mode in sync queued; do
    vm/run.sh "$CARGO_TARGET_DIR/$host/debug/stress" --threads 2 --seconds 1 --mode "$mode" --listen
done
step "done"
