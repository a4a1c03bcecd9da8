#!/usr/bin/env bash
# The Windows build, on this Linux machine: lint and test for x86_64-pc-windows-gnu, linked
# with mingw-w64 and run under Wine.
#
#   vm/windows.sh
#
# Installs what it needs on a fresh Debian 12 machine (network to rustup's download host and
# Debian's apt mirror only), each step skipped when already done:
#   1. the rustup target x86_64-pc-windows-gnu (its std);
#   2. apt: gcc-mingw-w64-x86-64 (the linker), wine and wine64 (the test runner);
#   3. the link name: `tracelogging` asks for `-lOneCore_apiset`; mingw-w64 11+ ships
#      `libonecore_apiset.a` (lower case), bookworm's mingw-w64 10 has no such library but
#      its `libadvapi32.a` has the same ETW functions; a symlink with the asked-for name to
#      whichever is there fixes the link;
#   4. a Wine prefix, made once with `wineboot --init` and cached under
#      ~/.cache/otel-os-events/wine; Debian 12's Wine 8 lacks bcryptprimitives.dll, which
#      every Rust binary since 1.78 imports, so a small one built from
#      vm/wine-bcryptprimitives.c goes into that prefix (a Wine that has its own keeps it);
# then
#   5. `cargo clippy --workspace --target x86_64-pc-windows-gnu --all-targets -- -D warnings`;
#   6. `cargo test --workspace --target x86_64-pc-windows-gnu`, every test binary (and doc
#      test) run under Wine as the cargo runner; it must pass, and it must have run tests.
#
# Every step prints its wall time. A step that fails stops the script with its name and a
# non-zero status: there is no way to pass without the Windows build and its tests.
#
# What Wine proves: the crate compiles, lints and runs for Windows, and the ETW path works as
# "registered, nobody listening" (Wine's EventRegister succeeds, no session ever enables a
# provider, EventWriteTransfer is a stub). Delivery to a real ETW session needs Windows
# (README, "ETW").
#
# Environment:
#   OTEL_OS_EVENTS_VM_CACHE   cache root (default ~/.cache/otel-os-events)
#   CARGO_TARGET_DIR          as usual (default target/; this target builds in
#                             target/x86_64-pc-windows-gnu)
set -euo pipefail
cd "$(dirname "$0")/.."

TARGET=x86_64-pc-windows-gnu
MINGW_LIB=/usr/x86_64-w64-mingw32/lib
CACHE_ROOT=${OTEL_OS_EVENTS_VM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/otel-os-events}
export WINEPREFIX=$CACHE_ROOT/wine
# No console noise from Wine's fixme channels, and no Mono/Gecko installer prompts.
export WINEDEBUG=-all
export WINEDLLOVERRIDES="mscoree,mshtml="
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}

STEP_STARTED=$SECONDS
STEP_FAILED_NOTE="no Windows build was proved"
log() { printf 'windows: %s\n' "$*" >&2; }

# step NAME COMMAND... : runs the command, prints its wall time; on failure stops the script
# naming the step.

as_root() {
    if ((EUID == 0)); then
        "$@"
    elif command -v sudo >/dev/null; then
        sudo "$@"
    else
        log "need root (or sudo) for: $*"
        return 1
    fi
}

die() { log "ERROR: $*"; exit 1; }
# shellcheck source=vm/lib.sh
source vm/lib.sh

rust_target() {
    command -v rustup >/dev/null || {
        log "rustup is not installed: the Windows std comes from rustup's download host"
        return 1
    }
    if rustup target list --installed | grep -qx "$TARGET"; then
        log "$TARGET is installed"
        return 0
    fi
    rustup target add "$TARGET"
}

apt_packages() {
    apt_install gcc-mingw-w64-x86-64 wine wine64
}

link_name() {
    if [[ -e $MINGW_LIB/libOneCore_apiset.a ]]; then
        log "$MINGW_LIB/libOneCore_apiset.a is there: $(readlink "$MINGW_LIB/libOneCore_apiset.a" || echo a file)"
        return 0
    fi
    # mingw-w64 11 and later (trixie) ship the umbrella library in lower case. Bookworm's
    # mingw-w64 10 has none; its advapi32 import library has the five ETW functions
    # tracelogging calls (EventRegister, EventUnregister, EventSetInformation,
    # EventWriteTransfer, EventActivityIdControl), and advapi32.dll exports them on every
    # Windows since 8 and in Wine.
    local lib
    for lib in libonecore_apiset.a libadvapi32.a; do
        if [[ -e $MINGW_LIB/$lib ]]; then
            as_root ln -s "$lib" "$MINGW_LIB/libOneCore_apiset.a"
            log "linked libOneCore_apiset.a -> $lib"
            return 0
        fi
    done
    log "mingw-w64 has neither libonecore_apiset.a nor libadvapi32.a in $MINGW_LIB"
    return 1
}

WINE=
find_wine() {
    local w
    # The 64-bit loader itself first: Debian's `wine` wrapper complains on every run that
    # wine32 (not needed here) is missing.
    for w in wine64 /usr/lib/wine/wine64 wine; do
        if command -v "$w" >/dev/null; then
            WINE=$(command -v "$w")
            break
        fi
    done
    [[ -n $WINE ]] || {
        log "no wine64 or wine binary found"
        return 1
    }
    "$WINE" --version >&2
}

wine_prefix() {
    find_wine || return 1
    if [[ -f $WINEPREFIX/system.reg ]]; then
        log "Wine prefix $WINEPREFIX is ready"
        return 0
    fi
    mkdir -p "$WINEPREFIX"
    "$WINE" wineboot --init
    # wineboot returns before the server has written the prefix out.
    wineserver -w 2>/dev/null || true
    [[ -f $WINEPREFIX/system.reg ]] || {
        log "wineboot did not create $WINEPREFIX/system.reg"
        return 1
    }
}

# Wine 8 (Debian 12) has no bcryptprimitives.dll, which every Rust binary since 1.78 imports
# (ProcessPrng). Where Wine lacks it, a small one (vm/wine-bcryptprimitives.c) goes into the
# prefix; a Wine that has its own (9 and later) is left alone.
SHIM_SRC=vm/wine-bcryptprimitives.c
SHIM_STAMP=$WINEPREFIX/otel-os-events-bcryptprimitives.sha256
wine_prng() {
    local dll=$WINEPREFIX/drive_c/windows/system32/bcryptprimitives.dll
    local want
    want=$(sha256sum "$SHIM_SRC" | cut -d' ' -f1)
    if [[ -f $dll && ! -f $SHIM_STAMP ]]; then
        log "this Wine has its own bcryptprimitives.dll"
        return 0
    fi
    if [[ -f $dll && $(cat "$SHIM_STAMP") == "$want" ]]; then
        log "bcryptprimitives.dll (ProcessPrng for Wine 8) is installed"
        return 0
    fi
    local out
    out=$(mktemp -d)
    x86_64-w64-mingw32-gcc -shared -O2 -s -o "$out/bcryptprimitives.dll" "$SHIM_SRC" -ladvapi32
    install -m 644 "$out/bcryptprimitives.dll" "$dll"
    rm -rf "$out"
    echo "$want" >"$SHIM_STAMP"
    log "installed bcryptprimitives.dll (ProcessPrng) for this Wine"
}

clippy() {
    cargo clippy --workspace --target "$TARGET" --all-targets -- -D warnings
}

LOG=
tests_under_wine() {
    find_wine >/dev/null 2>&1 || return 1
    export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER=$WINE
    LOG=$(mktemp)
    local status=0
    cargo test --workspace --target "$TARGET" --no-fail-fast 2>&1 | tee "$LOG" || status=$?
    # The counts, from libtest's summary lines.
    local passed failed ignored binaries
    read -r binaries passed failed ignored < <(awk '
        /^test result:/ {
            n++
            for (i = 1; i <= NF; i++) {
                if ($(i + 1) ~ /^passed;?$/) p += $i
                if ($(i + 1) ~ /^failed;?$/) f += $i
                if ($(i + 1) ~ /^ignored;?$/) g += $i
            }
        }
        END { print n + 0, p + 0, f + 0, g + 0 }' "$LOG")
    log "under Wine: $binaries test runs (binaries and doc tests): $passed passed, $failed failed, $ignored ignored"
    if grep -q '^test .* \.\.\. ignored' "$LOG"; then
        log "ignored tests:"
        grep '^test .* \.\.\. ignored' "$LOG" >&2
    fi
    rm -f "$LOG"
    ((status == 0)) || return "$status"
    # A run that built nothing, or ran nothing, proved nothing.
    ((binaries > 0 && passed > 0)) || {
        log "no test ran under Wine"
        return 1
    }
}

examples_under_wine() {
    find_wine >/dev/null 2>&1 || return 1
    cargo build --quiet --workspace --target "$TARGET" --examples
    local example name
    for example in examples/*.rs; do
        name=$(basename "$example" .rs)
        log "example $name under Wine"
        "$WINE" "target/$TARGET/debug/examples/$name.exe" || {
            log "example $name failed under Wine (exit $?)"
            return 1
        }
    done
}

step "rustup target $TARGET" rust_target
step "apt: mingw-w64 and wine" apt_packages
step "mingw link name libOneCore_apiset.a" link_name
step "Wine prefix (wineboot --init, once)" wine_prefix
step "Wine: bcryptprimitives.dll if it lacks one" wine_prng
step "cargo clippy --target $TARGET --all-targets -D warnings" clippy
step "cargo test --target $TARGET under Wine" tests_under_wine
step "every example under Wine (the ETW path: registered, nobody listens)" examples_under_wine
log "done in $((SECONDS - STEP_STARTED)) s"
