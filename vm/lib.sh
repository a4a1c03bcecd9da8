# Shell code the vm/ scripts share. Source it after defining `log` and `die`:
#
#   log() { printf 'name: %s\n' "$*" >&2; }
#   die() { log "ERROR: $*"; exit 1; }
#   source "$VM_DIR/lib.sh"

# pkg_installed NAME: true if the Debian package is installed.
pkg_installed() {
    [[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) == "install ok installed" ]]
}

# apt_install PKG... : install whatever is missing; `apt-get update` only then.
# A PKG may be NAME=VERSION; it counts as present only at exactly that version.
APT_UPDATED=0
apt_install() {
    local plain=() exact=() spec name
    # Scripts may run side by side (.ci/run builds the kernel in the background): one of
    # ours at a time runs apt, and each decides what is missing only once it holds the
    # lock, after the one before it has installed its share.
    exec {APT_LOCK_FD}>"${TMPDIR:-/tmp}/otel-os-events-apt.lock"
    flock "$APT_LOCK_FD"
    for spec in "$@"; do
        name=${spec%%=*}
        if [[ $spec == *=* ]]; then
            [[ $(dpkg-query -W -f='${Status} ${Version}' "$name" 2>/dev/null) == "install ok installed ${spec#*=}" ]] \
                || exact+=("$spec")
        else
            pkg_installed "$name" || plain+=("$spec")
        fi
    done
    if ((${#plain[@]} + ${#exact[@]} == 0)); then
        exec {APT_LOCK_FD}>&-
        return 0
    fi

    # Wait for another apt (a second script, unattended upgrades) instead of failing.
    local apt=(env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300)
    if ((EUID != 0)); then
        command -v sudo >/dev/null || die "need root (or sudo) to install: ${plain[*]} ${exact[*]}"
        apt=(sudo "${apt[@]}")
    fi
    log "installing $(printf '%s ' "${plain[@]}" "${exact[@]}")"
    if ((APT_UPDATED == 0)); then
        "${apt[@]}" update -qq >&2 || die "apt-get update failed"
        APT_UPDATED=1
    fi
    if ((${#plain[@]})); then
        # --no-upgrade: leave packages that are already installed alone.
        "${apt[@]}" install -y -qq --no-install-recommends --no-upgrade "${plain[@]}" >&2 \
            || die "apt-get install ${plain[*]} failed"
    fi
    if ((${#exact[@]})); then
        # A pinned version may be older or newer than an installed one.
        "${apt[@]}" install -y -qq --no-install-recommends --allow-downgrades "${exact[@]}" >&2 \
            || die "apt-get install ${exact[*]} failed. Is that version still in the archive? (apt-cache policy ${exact[*]%%=*})"
    fi
    exec {APT_LOCK_FD}>&-
}

# step NAME COMMAND... : runs COMMAND, then logs its wall time and the script's total so far;
# on failure stops the script naming the step (and $STEP_FAILED_NOTE, if set). Set
# STEP_STARTED=$SECONDS when the script starts.
step() {
    local name=$1 t0=$SECONDS status=0
    shift
    printf '\n=== %s\n' "$name" >&2
    "$@" || status=$?
    if ((status != 0)); then
        log "FAILED at step \"$name\" (exit $status, after $((SECONDS - t0)) s)${STEP_FAILED_NOTE:+: $STEP_FAILED_NOTE}"
        exit 1
    fi
    log "step \"$name\": $((SECONDS - t0)) s (total $((SECONDS - ${STEP_STARTED:-0})) s)"
}

