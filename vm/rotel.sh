#!/usr/bin/env bash
# Prints the path of `rotel-agent`, a Rust OpenTelemetry collector that PyPI's `rotel` wheel
# ships (rotel/rotel-agent), fetching the wheel with pip into the cache on first use:
#   ~/.cache/otel-os-events/rotel/<version>/rotel-agent
# tests/forward_kernel.rs runs it inside the VM as the collector `forward` sends to (pass it
# in OTEL_OS_EVENTS_ROTEL and OTEL_OS_EVENTS_VM_FILES). A cache hit needs no network.
# The binary links libpython3.11 (Debian 12's libpython3.11 package); it is installed if
# missing. Usage: vm/rotel.sh
set -euo pipefail
cd "$(dirname "$0")/.."
. vm/lib.sh

version=${OTEL_OS_EVENTS_ROTEL_VERSION:-0.0.1a15}
dir=${OTEL_OS_EVENTS_VM_CACHE:-$HOME/.cache/otel-os-events}/rotel/$version
agent=$dir/rotel-agent
if [[ ! -x $agent ]]; then
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    # The wheel is tagged cp311 / manylinux_2_34: ask for exactly that, whatever python runs pip.
    python3 -m pip download --quiet --disable-pip-version-check --no-deps \
        --only-binary=:all: --python-version 3.11 --platform manylinux_2_34_x86_64 \
        -d "$tmp" "rotel==$version" >&2
    python3 -m zipfile -e "$tmp"/rotel-"$version"-*.whl "$tmp/wheel"
    mkdir -p "$dir"
    install -m 755 "$tmp/wheel/rotel/rotel-agent" "$agent.partial"
    mv "$agent.partial" "$agent"
fi
if ldd "$agent" | grep -q 'not found'; then
    apt_install libpython3.11 >&2
fi
echo "$agent"
