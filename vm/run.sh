#!/usr/bin/env bash
# Run a program inside a qemu VM whose kernel has user_events.
#
#   vm/run.sh BINARY [ARGS...]
#
# Meant as a cargo runner, so `cargo test` / `cargo bench` binaries run in
# the VM unchanged:
#   CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUNNER=/abs/path/vm/run.sh cargo test
#
# The guest's console (the program's stdout and stderr) is copied to this
# script's stdout; the script exits with the program's exit code
# (128 + N if it was killed by signal N). See vm/README.md for the details
# and the environment variables.
set -euo pipefail

VM_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PROG=run.sh

TIMEOUT=${OTEL_OS_EVENTS_VM_TIMEOUT:-600}
CPUS=${OTEL_OS_EVENTS_VM_CPUS:-2}
MEMORY=${OTEL_OS_EVENTS_VM_MEMORY:-2G}
VERBOSE=${OTEL_OS_EVENTS_VM_VERBOSE:-0}
CACHE_ROOT=${OTEL_OS_EVENTS_VM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/otel-os-events}

# Exit code when the VM itself failed (no status from the program).
EXIT_VM_FAILED=125

START_MARKER=OTEL_OS_EVENTS_VM_START
EXIT_MARKER=OTEL_OS_EVENTS_VM_EXIT=
CMD_FILE=otel-os-events-vm.cmd # read by init.c, at the root of the initramfs

log() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() { log "ERROR: $*"; exit "$EXIT_VM_FAILED"; }
verbose() { if [[ $VERBOSE == 1 ]]; then log "$*"; fi; }

(($# >= 1)) || die "usage: $0 BINARY [ARGS...]"
[[ $TIMEOUT =~ ^[0-9]+$ ]] || die "OTEL_OS_EVENTS_VM_TIMEOUT must be a number of seconds"

# --- host tools ---------------------------------------------------------------

# Booting needs only qemu and cpio (build-kernel.sh installs gcc if it must
# build init). Install them if missing; `apt-get update` only then.
# shellcheck source=vm/lib.sh
source "$VM_DIR/lib.sh"
apt_install qemu-system-x86 cpio

# --- kernel and init ------------------------------------------------------------

mapfile -t built < <("$VM_DIR/build-kernel.sh" || echo FAILED)
[[ ${#built[@]} -ge 2 && ${built[-1]} != FAILED ]] || die "vm/build-kernel.sh failed"
INIT=${built[-2]}
KERNEL=${built[-1]}

# --- per-run temp dir, cleaned up however we leave ------------------------------

TMP=$(mktemp -d "${TMPDIR:-/tmp}/otel-os-events-vm.XXXXXX")
QEMU_PID=""
WATCHDOG_PID=""
# shellcheck disable=SC2317  # only reached through the trap
cleanup() {
    if [[ -n $WATCHDOG_PID ]]; then kill "$WATCHDOG_PID" 2>/dev/null || true; fi
    if [[ -n $QEMU_PID ]]; then
        kill -KILL "$QEMU_PID" 2>/dev/null || true
        wait "$QEMU_PID" 2>/dev/null || true # reap it quietly (no "Killed" notice)
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

ROOT=$TMP/root
mkdir -p "$ROOT"/{dev,proc,sys,tmp}

# --- initramfs contents ---------------------------------------------------------

declare -A ADDED=()

# add_path HOST_PATH: copy to the same absolute path in the guest
# (symlinks followed: the guest gets a regular file at that path).
add_path() {
    local src=$1 dst=$ROOT$1
    [[ -n ${ADDED[$src]:-} ]] && return 0
    ADDED[$src]=1
    mkdir -p "$(dirname "$dst")"
    if [[ -d $src ]]; then
        mkdir -p "$dst"
        cp -a -L "$src/." "$dst/"
    else
        cp -L --preserve=mode "$src" "$dst"
    fi
}

# add_with_libs HOST_PATH: the file plus every library ldd lists for it,
# including the dynamic loader. Static binaries and scripts have none.
add_with_libs() {
    local file=$1 out lib
    [[ $file == /* ]] || die "not an absolute path: $file"
    [[ -e $file ]] || die "no such file: $file"
    add_path "$file"
    [[ -f $file ]] || return 0
    out=$(ldd "$file" 2>/dev/null) || return 0 # "not a dynamic executable"
    if grep -q '=> not found' <<<"$out"; then
        die "libraries of $file not found:"$'\n'"$(grep '=> not found' <<<"$out")"
    fi
    # "libc.so.6 => /lib/.../libc.so.6 (0x...)", "/lib64/ld-linux-x86-64.so.2 (0x...)";
    # entries without a path (linux-vdso.so.1) are skipped.
    while IFS= read -r lib; do
        add_path "$lib"
    done < <(awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' <<<"$out")
}

# The program, at its absolute path as given (cargo passes absolute paths).
BINARY=$1
shift
[[ $BINARY == /* ]] || BINARY=$PWD/$BINARY
add_with_libs "$BINARY"

# Extra files the tests need, e.g. helper binaries built by cargo.
if [[ -n ${OTEL_OS_EVENTS_VM_FILES:-} ]]; then
    IFS=: read -ra extra <<<"$OTEL_OS_EVENTS_VM_FILES"
    for f in "${extra[@]}"; do
        [[ -n $f ]] && add_with_libs "$f"
    done
fi

cp "$INIT" "$ROOT/init"

# The command for init.c: NUL-terminated records "C=dir", "E=NAME=VALUE", "A=arg".
forward_env() {
    case $1 in
        RUST_BACKTRACE | RUST_LOG | RUST_MIN_STACK | PROPTEST_CASES | LD_LIBRARY_PATH) return 0 ;;
        ASAN_OPTIONS | LSAN_OPTIONS) return 0 ;;
        RUST_TEST_* | CARGO_*) return 0 ;;
        OTEL_OS_EVENTS_IN_VM) return 1 ;; # set below
        OTEL_OS_EVENTS_*) return 0 ;;
    esac
    return 1
}
{
    printf 'C=%s\0' "$PWD"
    printf 'E=%s\0' PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/tmp
    while IFS= read -r name; do
        if forward_env "$name"; then printf 'E=%s=%s\0' "$name" "${!name}"; fi
    done < <(compgen -e)
    printf 'E=OTEL_OS_EVENTS_IN_VM=1\0'
    printf 'A=%s\0' "$BINARY"
    for arg in "$@"; do printf 'A=%s\0' "$arg"; done
} >"$ROOT/$CMD_FILE"

(cd "$ROOT" && find . -mindepth 1 -print0 | LC_ALL=C sort -z |
    cpio --null --create --format=newc --quiet) >"$TMP/initrd.cpio"
verbose "initramfs: $(du -h "$TMP/initrd.cpio" | cut -f1)"

# --- qemu -------------------------------------------------------------------------

qemu_args() { # ACCEL INITRD
    local accel=$1 initrd=$2
    if [[ $accel == kvm ]]; then
        printf '%s\n' -accel kvm -cpu host
    else
        printf '%s\n' -accel tcg,thread=multi -cpu max
    fi
    printf '%s\n' -M pc -smp "$CPUS" -m "$MEMORY" \
        -nodefaults -no-user-config -display none -serial stdio -no-reboot \
        -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
        -kernel "$KERNEL" -initrd "$initrd" \
        -append "console=ttyS0 panic=-1 quiet"
}

# KVM only where the CPU advertises vmx/svm, /dev/kvm is usable, and a real
# boot works (some hosts offer /dev/kvm that cannot run this kernel). The
# probe result is cached per host boot and kernel.
choose_accel() {
    case ${OTEL_OS_EVENTS_VM_ACCEL:-auto} in
        kvm | tcg) echo "$OTEL_OS_EVENTS_VM_ACCEL"; return ;;
    esac
    if ! grep -qwE 'vmx|svm' /proc/cpuinfo || [[ ! -r /dev/kvm || ! -w /dev/kvm ]]; then
        echo tcg
        return
    fi
    local boot_id key file
    boot_id=$(cat /proc/sys/kernel/random/boot_id 2>/dev/null || echo unknown)
    key=$(printf '%s %s' "$boot_id" "$KERNEL" | sha256sum | cut -c1-16)
    file=$CACHE_ROOT/kvm-probe/$key
    if [[ ! -f $file ]]; then
        local probe=$TMP/probe rc=0
        mkdir -p "$probe/root" "$(dirname "$file")"
        cp "$INIT" "$probe/root/init"
        printf 'C=/\0' >"$probe/root/$CMD_FILE" # no command: init just reports 0
        (cd "$probe/root" && find . -mindepth 1 -print0 |
            cpio --null --create --format=newc --quiet) >"$probe/initrd.cpio"
        mapfile -t args < <(qemu_args kvm "$probe/initrd.cpio")
        timeout -s KILL 30 qemu-system-x86_64 "${args[@]}" </dev/null >"$probe/serial" 2>&1 || rc=$?
        # port value 0 -> qemu exits with (0 << 1) | 1
        if ((rc == 1)) && grep -q "${EXIT_MARKER}0" "$probe/serial"; then
            echo kvm >"$file"
        else
            echo tcg >"$file"
            log "KVM is present but could not boot the kernel (qemu exit $rc); using TCG"
        fi
    fi
    cat "$file"
}

case ${OTEL_OS_EVENTS_VM_ACCEL:-auto} in
    kvm | tcg | auto) ;;
    *) die "OTEL_OS_EVENTS_VM_ACCEL must be kvm, tcg or auto" ;;
esac
ACCEL=$(choose_accel)
verbose "accelerator: $ACCEL"
mapfile -t QEMU_ARGS < <(qemu_args "$ACCEL" "$TMP/initrd.cpio")

# Kills qemu (by its pid) after TIMEOUT seconds; leaves a flag file behind.
watchdog() {
    local start=$SECONDS
    while kill -0 "$QEMU_PID" 2>/dev/null; do
        if ((SECONDS - start >= TIMEOUT)); then
            : >"$TMP/timed-out"
            kill -TERM "$QEMU_PID" 2>/dev/null
            sleep 2
            kill -KILL "$QEMU_PID" 2>/dev/null
            return
        fi
        sleep 1
    done
}

# Copies the console to stdout as it arrives: drops everything before init's
# start marker (firmware, boot), sends kernel messages ("[  1.23] ...") to
# stderr, and takes the status line out, saving the code.
filter_console() {
    local line started=0 re_exit="^(.*)${EXIT_MARKER}([0-9]+)$" re_kernel='^\[ *[0-9]+\.[0-9]+\] '
    while IFS= read -r line || [[ -n $line ]]; do
        line=${line%$'\r'}
        if ((started == 0)); then
            if [[ $line == *"$START_MARKER" ]]; then
                started=1
            elif [[ $line == vm-init:* ]]; then
                printf '%s\n' "$line" >&2 # init could not start the program
            elif [[ $line =~ $re_exit ]]; then
                echo "${BASH_REMATCH[2]}" >"$TMP/status"
                started=2
            elif [[ $VERBOSE == 1 ]]; then
                printf 'vm-boot: %s\n' "$line" >&2
            fi
            continue
        fi
        if [[ $line =~ $re_exit ]]; then
            [[ -n ${BASH_REMATCH[1]} ]] && printf '%s\n' "${BASH_REMATCH[1]}"
            echo "${BASH_REMATCH[2]}" >"$TMP/status"
            started=2 # ignore the power-off noise that may follow
            continue
        fi
        ((started == 2)) && continue
        if [[ $line =~ $re_kernel ]]; then
            printf 'vm-kernel: %s\n' "$line" >&2
        else
            printf '%s\n' "$line"
        fi
    done
    if ((started == 0)); then : >"$TMP/no-start"; fi
}

last_lines() {
    log "last 30 lines of the VM console:"
    tail -n 30 "$TMP/serial.log" | tr -d '\r' | sed 's/^/  | /' >&2
}

mkfifo "$TMP/serial.fifo"
verbose "booting: qemu-system-x86_64 ${QEMU_ARGS[*]}"
qemu-system-x86_64 "${QEMU_ARGS[@]}" </dev/null >"$TMP/serial.fifo" 2>"$TMP/qemu.err" &
QEMU_PID=$!
watchdog </dev/null >/dev/null 2>&1 &
WATCHDOG_PID=$!

# In the background so that `wait` (unlike a foreground pipeline) lets the
# INT/TERM traps run at once; the pipeline ends when qemu closes the fifo.
tee "$TMP/serial.log" <"$TMP/serial.fifo" | filter_console &
wait $!

qemu_rc=0
wait "$QEMU_PID" || qemu_rc=$?
QEMU_PID=""
kill "$WATCHDOG_PID" 2>/dev/null || true
WATCHDOG_PID=""
verbose "qemu exit code $qemu_rc"

if [[ -f $TMP/status ]]; then
    if [[ -f $TMP/timed-out ]]; then
        log "warning: the program finished but the VM did not power off; killed after ${TIMEOUT}s"
    fi
    exit "$(<"$TMP/status")"
fi

if [[ -f $TMP/timed-out ]]; then
    log "VM hung (kernel stall?): no result after ${TIMEOUT}s (OTEL_OS_EVENTS_VM_TIMEOUT); qemu killed"
    last_lines
    exit 124
fi

# No status line: never a pass.
if grep -q 'Kernel panic' "$TMP/serial.log"; then
    log "the VM's kernel panicked (no exit status from the program)"
    last_lines
    exit "$EXIT_VM_FAILED"
fi
if [[ ! -f $TMP/no-start ]] && ((qemu_rc % 2 == 1 && qemu_rc > 1)); then
    # init wrote to isa-debug-exit (qemu exits with (code << 1) | 1) but its
    # status line was lost; the port carries only 7 bits of the code.
    log "status line missing; exit code from the debug-exit port: $((qemu_rc >> 1))"
    exit $((qemu_rc >> 1))
fi
log "the VM ended without an exit status from the program (qemu exit code $qemu_rc)"
if [[ -s $TMP/qemu.err ]]; then
    log "qemu said:"
    sed 's/^/  | /' "$TMP/qemu.err" >&2
fi
last_lines
exit "$EXIT_VM_FAILED"
