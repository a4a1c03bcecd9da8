#!/usr/bin/env bash
# The main job: boots the user_events kernel, starts `otel-os-events listen myprovider`, runs
# the example application (examples/tracing_logs.rs, which logs through `tracing`), and shows
# the events `listen` read back from the kernel, one JSON object per line.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
say() { printf 'demo: %s\n' "$*" >&2; }

# A shell for the guest, to run two programs side by side.
log() { say "$*"; }
die() { say "ERROR: $*"; exit 1; }
# shellcheck source=vm/lib.sh
source vm/lib.sh
apt_install busybox-static

say "building the kernel if it is not cached (about 12 minutes the first time)"
vm/build-kernel.sh >/dev/null

say "building otel-os-events (listen) and the example application"
cargo build --quiet --features cli --bin otel-os-events --example tracing_logs
listen="$root/target/debug/otel-os-events"
app="$root/target/debug/examples/tracing_logs"

say "booting the VM: listen starts first, then the application logs 6 records"
export OTEL_OS_EVENTS_VM_FILES="$listen:$app"
bb=/bin/busybox
vm/run.sh "$bb" sh -c "
    $listen listen myprovider --count 6 --timeout 60 2>/tmp/listen.log &
    # Wait until listen has attached on every CPU (the kernel sets the enable bit when the
    # first CPU's perf event opens, before the others are open).
    until $bb grep -q 'listen: ready' /tmp/listen.log; do $bb sleep 0.1; done
    $bb cat /tmp/listen.log >&2
    $app myprovider
    wait
    $bb tail -n 1 /tmp/listen.log >&2
"
