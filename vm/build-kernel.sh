#!/usr/bin/env bash
# Build (or find in the cache) the test VM's kernel and its static PID 1.
#
#   vm/build-kernel.sh
#
# stdout: two lines, the path of the init binary, then the path of the
# bzImage (always the last line). Progress goes to stderr; a cache hit
# prints nothing there.
#
# Kernel: Debian's linux-source-6.12 (version pinned below), `make tinyconfig`
# + vm/kernel.config, with vm/patches/*.patch applied. Cached under
#   ~/.cache/otel-os-events/kernel/<key>/bzImage
# where <key> hashes kernel.config, the patches and the source package version.
# init: vm/init.c built with `gcc -static`, cached under
#   ~/.cache/otel-os-events/init/<key>/init   (<key> hashes init.c + flags)
#
# Environment:
#   OTEL_OS_EVENTS_VM_CACHE            cache root (default ~/.cache/otel-os-events)
#   OTEL_OS_EVENTS_VM_LINUX_SOURCE_VERSION
#                                      linux-source-6.12 version to build
#                                      (default: the pin below)
#   OTEL_OS_EVENTS_VM_JOBS             make -j (default: nproc)
set -euo pipefail

VM_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# Pin the source package: a new Debian upload must not silently change the
# kernel (or force a rebuild). Bump deliberately when the archive drops it.
SOURCE_PKG=linux-source-6.12
SOURCE_VERSION=${OTEL_OS_EVENTS_VM_LINUX_SOURCE_VERSION:-6.12.117-1~deb12u1}
SOURCE_TARBALL=/usr/src/linux-source-6.12.tar.xz

CACHE_ROOT=${OTEL_OS_EVENTS_VM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/otel-os-events}
JOBS=${OTEL_OS_EVENTS_VM_JOBS:-$(nproc)}
INIT_CFLAGS="-static -O2 -Wall -Wextra"

log() { printf 'build-kernel: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# --- packages ---------------------------------------------------------------

# apt_install (vm/lib.sh): what is missing, `apt-get update` only then.
# shellcheck source=vm/lib.sh
source "$VM_DIR/lib.sh"

# --- cache keys -------------------------------------------------------------

hash_stdin() { sha256sum | cut -c1-16; }

kernel_key() {
    {
        printf 'source %s %s\n' "$SOURCE_PKG" "$SOURCE_VERSION"
        printf 'config\n'
        cat "$VM_DIR/kernel.config"
        local p
        for p in "$VM_DIR"/patches/*.patch; do
            [[ -e $p ]] || continue
            printf 'patch %s\n' "$(basename "$p")"
            cat "$p"
        done
    } | hash_stdin
}

init_key() {
    { printf 'cflags %s\n' "$INIT_CFLAGS"; cat "$VM_DIR/init.c"; } | hash_stdin
}

# --- init -------------------------------------------------------------------

ensure_init() {
    local dir out tmp
    dir="$CACHE_ROOT/init/$(init_key)"
    out="$dir/init"
    if [[ ! -x $out ]]; then
        # libc6-dev carries the static libc; it is only a Recommends of gcc.
        apt_install gcc libc6-dev
        mkdir -p "$dir"
        tmp=$(mktemp "$dir/init.XXXXXX")
        # shellcheck disable=SC2086  # INIT_CFLAGS is a list of flags
        gcc $INIT_CFLAGS -o "$tmp" "$VM_DIR/init.c" || { rm -f "$tmp"; die "building init failed"; }
        mv -f "$tmp" "$out"
        log "built $out"
    fi
    INIT_PATH=$out
}

# --- kernel -----------------------------------------------------------------

BUILD_DIR=""
cleanup() {
    if [[ -n $BUILD_DIR && -d $BUILD_DIR ]]; then
        rm -rf "$BUILD_DIR"
    fi
}
trap cleanup EXIT

# run_logged STAGE CMD... : run a build stage with output to the log file;
# on failure print the log's tail and stop.
run_logged() {
    local stage=$1
    shift
    printf '\n=== %s: %s\n' "$stage" "$*" >>"$BUILD_LOG"
    if ! "$@" >>"$BUILD_LOG" 2>&1; then
        log "FAILED: $stage; last lines of $BUILD_LOG:"
        tail -n 40 "$BUILD_LOG" >&2
        exit 1
    fi
}

# Every CONFIG_ line of the fragment must appear in the final .config
# exactly as written ("# CONFIG_X is not set" lines: X must not be enabled).
verify_config() {
    local line sym bad=0
    while IFS= read -r line; do
        if [[ $line =~ ^(CONFIG_[A-Za-z0-9_]+)=.+$ ]]; then
            grep -qxF -- "$line" .config || {
                log "config option did not stick: $line (now: $(grep -E "^(# )?${BASH_REMATCH[1]}[= ]" .config || echo 'absent'))"
                bad=1
            }
        elif [[ $line =~ ^#\ (CONFIG_[A-Za-z0-9_]+)\ is\ not\ set$ ]]; then
            sym=${BASH_REMATCH[1]}
            if grep -qE "^${sym}=" .config; then
                log "config option did not stick: $line (now: $(grep -E "^${sym}=" .config))"
                bad=1
            fi
        fi
    done <"$VM_DIR/kernel.config"
    ((bad == 0)) || die "kernel.config has options that Kconfig dropped (unmet dependencies?)"
}

# make bzImage in the background; a line every 30 s instead of make's output.
make_bzimage() {
    local start=$SECONDS pid rc
    printf '\n=== make -j%s bzImage\n' "$JOBS" >>"$BUILD_LOG"
    make -j"$JOBS" bzImage >>"$BUILD_LOG" 2>&1 &
    pid=$!
    while kill -0 "$pid" 2>/dev/null; do
        # sleep in short steps so a finished build is noticed quickly
        for _ in $(seq 30); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 1
        done
        if kill -0 "$pid" 2>/dev/null; then
            log "still building… $((SECONDS - start))s"
        fi
    done
    rc=0
    wait "$pid" || rc=$?
    if ((rc != 0)); then
        log "FAILED: make bzImage (exit $rc); last lines of $BUILD_LOG:"
        tail -n 40 "$BUILD_LOG" >&2
        exit 1
    fi
    log "make bzImage done in $((SECONDS - start))s"
}

build_kernel() {
    local key=$1 out_dir=$2 t0=$SECONDS p
    log "kernel $key not cached; building (about 12 min on 2 cores)"

    apt_install gcc libc6-dev make bc flex bison libelf-dev xz-utils patch \
        "$SOURCE_PKG=$SOURCE_VERSION"
    [[ -f $SOURCE_TARBALL ]] || die "$SOURCE_TARBALL missing after installing $SOURCE_PKG"

    mkdir -p "$CACHE_ROOT/kernel"
    BUILD_LOG="$CACHE_ROOT/kernel/build-$key.log"
    : >"$BUILD_LOG"
    log "full build log: $BUILD_LOG"
    # The tree is ~1.8 GB; keep it next to the cache rather than in a
    # possibly small /tmp. Removed on exit, success or not.
    BUILD_DIR=$(mktemp -d "$CACHE_ROOT/kernel/build-$key.XXXXXX")

    log "extracting $SOURCE_TARBALL"
    run_logged extract tar -xJf "$SOURCE_TARBALL" -C "$BUILD_DIR" --strip-components=1
    cd "$BUILD_DIR"

    for p in "$VM_DIR"/patches/*.patch; do
        [[ -e $p ]] || continue
        log "applying $(basename "$p")"
        run_logged "patch $(basename "$p")" patch -p1 --forward --batch -i "$p"
    done

    log "configuring (tinyconfig + kernel.config)"
    run_logged tinyconfig make tinyconfig
    run_logged merge_config scripts/kconfig/merge_config.sh -m .config "$VM_DIR/kernel.config"
    run_logged olddefconfig make olddefconfig
    verify_config

    log "compiling (make -j$JOBS bzImage)"
    make_bzimage

    mkdir -p "$out_dir"
    cp .config "$out_dir/config"
    cp arch/x86/boot/bzImage "$out_dir/bzImage.tmp"
    mv -f "$out_dir/bzImage.tmp" "$out_dir/bzImage" # atomic: readers never see half a file
    mv -f "$BUILD_LOG" "$out_dir/build.log"
    cd /
    log "removing build tree"
    rm -rf "$BUILD_DIR"
    BUILD_DIR=""
    log "kernel built in $((SECONDS - t0))s: $out_dir/bzImage"
}

ensure_kernel() {
    local key out_dir
    key=$(kernel_key)
    out_dir="$CACHE_ROOT/kernel/$key"
    if [[ ! -f $out_dir/bzImage ]]; then
        mkdir -p "$CACHE_ROOT/kernel"
        # One build at a time; whoever waited re-checks the cache.
        exec 9>"$CACHE_ROOT/kernel/.lock"
        if ! flock -n 9; then
            log "another build is running; waiting for it"
            flock 9
        fi
        [[ -f $out_dir/bzImage ]] || build_kernel "$key" "$out_dir"
        exec 9>&-
    fi
    KERNEL_PATH=$out_dir/bzImage
}

ensure_init
ensure_kernel
printf '%s\n%s\n' "$INIT_PATH" "$KERNEL_PATH"
