#!/usr/bin/env bash
# The declared MSRV builds: `rust-version` from Cargo.toml, with the committed Cargo.lock.
#
#   vm/msrv.sh
#
# Installs that toolchain with rustup (minimal profile, once), then `cargo check --locked`
# of every workspace member and every target (lib, bins, tests, benches, examples) with all
# features, for the host (Linux). `--locked` fails if Cargo.lock would have to change, so a
# lockfile that picks a dependency newer than the MSRV allows fails here.
#
# `cargo check`, not a test build: it proves the code and the lockfile compile on that
# toolchain, which is the promise `rust-version` makes; the tests run on stable
# (vm/test.sh). It builds in target/msrv so it never invalidates the stable builds.
#
# To refresh the lockfile within the MSRV:
#   CARGO_RESOLVER_INCOMPATIBLE_RUST_VERSIONS=fallback cargo update
set -euo pipefail
cd "$(dirname "$0")/.."

msrv=$(sed -n 's/^rust-version = "\(.*\)"$/\1/p' Cargo.toml | head -1)
[[ -n $msrv ]] || {
    echo "msrv: no rust-version in Cargo.toml" >&2
    exit 1
}
STEP_STARTED=$SECONDS
log() { printf 'msrv: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
# shellcheck source=vm/lib.sh
source vm/lib.sh


toolchain() {
    command -v rustup >/dev/null || {
        echo "msrv: rustup is not installed" >&2
        return 1
    }
    if rustup run "$msrv" rustc --version >/dev/null 2>&1; then
        rustup run "$msrv" rustc --version >&2
        return 0
    fi
    rustup toolchain install "$msrv" --profile minimal
}

check() {
    CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}/msrv \
        cargo "+$msrv" check --locked --workspace --all-targets --all-features
}

step "rustup toolchain $msrv (minimal)" toolchain
step "cargo +$msrv check --locked --workspace --all-targets --all-features" check
echo "msrv: rust $msrv builds every target, with the committed Cargo.lock, in $((SECONDS - STEP_STARTED)) s" >&2
