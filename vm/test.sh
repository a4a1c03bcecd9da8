#!/usr/bin/env bash
# All tests: formatting, lints, the host tests, then every test binary again inside the VM
# on a real user_events kernel (built and cached on first use). Fails if any test fails, or
# if any in-VM test skipped for want of a kernel.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

# Each step says when it starts, in seconds since this script did, so a slow CI run shows
# where its time went.
step() { printf '\n=== [%ds] %s\n' "$SECONDS" "$*" >&2; }

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy --all-targets -- -D warnings"
cargo clippy --workspace --all-targets --all-features -- -D warnings

step "cargo doc (every public item documented, no broken links)"
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --all-features --quiet

step "Windows: clippy for x86_64-pc-windows-gnu, the test binaries under Wine (vm/windows.sh)"
vm/windows.sh

step "the declared MSRV builds everything with the committed lockfile (vm/msrv.sh)"
vm/msrv.sh

step "host tests (kernel tests skip loudly here: this kernel has no user_events)"
cargo test --workspace --all-features

step "every example runs to exit 0 on this host (no user_events here: each says why nothing was written)"
cargo build --quiet --examples
for example in examples/*.rs; do
    name=$(basename "$example" .rs)
    echo "--- example $name" >&2
    "$root/target/debug/examples/$name" || {
        echo "vm/test.sh: example $name failed (exit $?)" >&2
        exit 1
    }
done

step "Miri on the pure pointer code, and bounded fuzz runs of the ring parser and listen's JSON (vm/memcheck.sh)"
vm/memcheck.sh

step "loom models of the queue and the state (loom-tests/)"
LOOM_MAX_PREEMPTIONS=3 RUSTFLAGS="--cfg otel_os_events_loom" CARGO_TARGET_DIR="$root/target/loom" \
    cargo test -p loom-tests --release

step "loom must catch the deliberately broken shutdown (cfg otel_os_events_loom_broken)"
if LOOM_MAX_PREEMPTIONS=3 RUSTFLAGS="--cfg otel_os_events_loom --cfg otel_os_events_loom_broken" \
    CARGO_TARGET_DIR="$root/target/loom-broken" \
    cargo test -p loom-tests --release -- shutdown_loses_nothing >"$root/target/loom-broken.log" 2>&1; then
    echo "vm/test.sh: the broken variant passed: the loom models cannot fail" >&2
    exit 1
fi
grep -q "accepted items written exactly once" "$root/target/loom-broken.log" || {
    echo "vm/test.sh: the broken variant failed for another reason:" >&2
    tail -30 "$root/target/loom-broken.log" >&2
    exit 1
}
echo "ok: loom caught the broken variant" >&2

step "kernel with CONFIG_USER_EVENTS (cached under ~/.cache/otel-os-events)"
vm/build-kernel.sh >/dev/null

step "the collector forward_kernel sends to: rotel-agent from PyPI's rotel wheel (cached, vm/rotel.sh)"
OTEL_OS_EVENTS_ROTEL=$(vm/rotel.sh)
export OTEL_OS_EVENTS_ROTEL

step "every test binary inside the VM"
# Helper binaries the tests start inside the guest (run.sh copies them in).
cargo build --workspace --all-features --bins
export OTEL_OS_EVENTS_VM_FILES="$root/target/debug/otel-os-events:$OTEL_OS_EVENTS_ROTEL"
export OTEL_OS_EVENTS_REQUIRE_KERNEL=1
export CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUNNER="$root/vm/run.sh"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
cargo test --workspace --exclude loom-tests --exclude stress --all-features --tests 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
if grep -q 'SKIPPED: no user_events' "$log"; then
    echo "vm/test.sh: an in-VM test skipped for want of user_events: the VM tests proved nothing" >&2
    exit 1
fi
[[ $status == 0 ]] || exit "$status"

step "stress inside the VM, both modes, a perf reader checking the books"
unset CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUNNER
cargo build --quiet -p stress --release
for mode in sync queued; do
    vm/run.sh "$root/target/release/stress" --threads 2 --seconds 1 --mode "$mode" --listen
done

step "AddressSanitizer: the test binaries, the benches once and stress, inside the VM (vm/asan.sh)"
vm/asan.sh

step "done"
