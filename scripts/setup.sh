#!/usr/bin/env bash
# Shared setup for scripts/lab.sh and scripts/test.sh.
#
#   bash scripts/setup.sh lab    # what the notebooks need
#   bash scripts/setup.sh test   # ... plus what the test suite needs
#
# lab.sh and test.sh `source` this file and call `tcplab_setup lab|test`.
# What it does, in order:
#   1. Debian/Ubuntu packages (only if apt-get exists and we are root or have passwordless sudo):
#        lab:  graphviz
#        test: every package listed in scripts/apt-test-packages.txt
#      `apt-get update` runs at most once, and only if something is missing.
#   2. Checks that python3 is 3.10 or newer (set PYTHON=/path/to/python3.x to use another one).
#   3. Creates the virtual environment .venv (installing python3-venv if that is what is missing).
#   4. pip-installs tcplab into .venv: `pip install -e ".[assignments]"` (lab: the notebooks and
#      the course assignments, which need otter-grader) or `pip install -e ".[dev]"` (test).
#      A stamp file in .venv remembers the hash of pyproject.toml, so repeated runs skip this.
#   5. Checks that Graphviz's `dot` is on PATH (the lab stops with instructions if not) and, for
#      the tests, says which tests will be skipped because a Debian package could not be installed.
#
# Environment knobs: PYTHON (interpreter to build .venv from), TCPLAB_SKIP_APT=1 (never call apt),
# CI=true (non-interactive: no progress bars, no prompts).

# The repository root (this file is scripts/setup.sh), and paths relative to it.
TCPLAB_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TCPLAB_VENV=".venv"
TCPLAB_APT_TEST_LIST="scripts/apt-test-packages.txt"

say()  { printf '[tcplab setup] %s\n' "$*"; }
warn() { printf '[tcplab setup] WARNING: %s\n' "$*" >&2; }
die()  { printf '[tcplab setup] ERROR: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------- privileges and apt

# Sets SUDO to "" (root), "sudo -n" (passwordless sudo) or leaves CAN_APT=0.
detect_apt() {
    CAN_APT=0
    SUDO=""
    if [ "${TCPLAB_SKIP_APT:-0}" = "1" ]; then
        return
    fi
    if ! command -v apt-get >/dev/null 2>&1 || ! command -v dpkg-query >/dev/null 2>&1; then
        return                                    # not Debian/Ubuntu
    fi
    if [ "$(id -u)" -eq 0 ]; then
        CAN_APT=1
    elif command -v sudo >/dev/null 2>&1 && sudo -n true >/dev/null 2>&1; then
        CAN_APT=1
        SUDO="sudo -n"
    fi
}

# Prints the names of the given Debian packages that are not installed.
apt_missing() {
    local pkg status
    for pkg in "$@"; do
        status="$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)"
        if [ "$status" != "install ok installed" ]; then
            echo "$pkg"
        fi
    done
}

APT_UPDATED=0
# Installs those of the given Debian packages that are missing. Packages this distribution does
# not have (e.g. `chromium` on Ubuntu, where it is a snap) are reported and skipped.
# Returns non-zero only if apt-get itself fails.
apt_install_missing() {
    [ "$CAN_APT" = "1" ] || return 0
    local missing=() available=() pkg log policy
    mapfile -t missing < <(apt_missing "$@")
    [ "${#missing[@]}" -gt 0 ] || return 0

    log="$(mktemp -t tcplab-apt.XXXXXX)"
    if [ "$APT_UPDATED" = "0" ]; then
        say "apt-get update (missing: ${missing[*]})"
        if ! $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq -o DPkg::Lock::Timeout=300 >"$log" 2>&1; then
            tail -n 20 "$log" >&2
            warn "apt-get update failed (full log: $log)"
            return 1
        fi
        APT_UPDATED=1
    fi
    rm -f "$log"
    for pkg in "${missing[@]}"; do
        # Not `apt-cache policy | grep -q`: with pipefail, grep's early exit fails the pipe.
        policy="$(apt-cache policy "$pkg" 2>/dev/null || true)"
        if [[ "$policy" =~ Candidate:\ [^\(] ]]; then
            available+=("$pkg")
        else
            warn "Debian package '$pkg' is not available from this machine's apt sources; skipping it"
        fi
    done
    [ "${#available[@]}" -gt 0 ] || return 0

    say "apt-get install ${available[*]}"
    if ! $SUDO env DEBIAN_FRONTEND=noninteractive \
            apt-get install -y -qq -o Dpkg::Use-Pty=0 -o DPkg::Lock::Timeout=300 "${available[@]}" >"$log" 2>&1; then
        tail -n 20 "$log" >&2
        warn "apt-get install failed (full log: $log)"
        return 1
    fi
    rm -f "$log"
}

# Debian packages for the given mode, one per line.
apt_packages_for() {
    if [ "$1" = "test" ]; then
        # One package per line; '#' starts a comment.
        sed -e 's/#.*//' -e 's/[[:space:]]//g' -e '/^$/d' "$TCPLAB_APT_TEST_LIST"
    else
        echo graphviz
    fi
}

# ---------------------------------------------------------------- python and .venv

check_python() {
    PYTHON="${PYTHON:-python3}"
    if ! command -v "$PYTHON" >/dev/null 2>&1; then
        if [ "$CAN_APT" = "1" ]; then
            apt_install_missing python3 python3-venv || true
        fi
        command -v "$PYTHON" >/dev/null 2>&1 || die "$PYTHON not found. Install Python 3.10 or newer:
    Debian/Ubuntu:  sudo apt-get install python3 python3-venv
    macOS:          brew install python
    other:          https://www.python.org/downloads/"
    fi
    if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 10))'; then
        die "$("$PYTHON" --version 2>&1) is too old: tcplab needs Python 3.10 or newer.
    Install a newer Python and run again with PYTHON=/path/to/python3.x"
    fi
}

venv_ok() {
    [ -x "$TCPLAB_VENV/bin/python" ] && "$TCPLAB_VENV/bin/python" -m pip --version >/dev/null 2>&1
}

make_venv() {
    if venv_ok; then
        return
    fi
    if [ -e "$TCPLAB_VENV" ]; then
        say "$TCPLAB_VENV is incomplete or broken; recreating it"
        rm -rf "$TCPLAB_VENV"
    fi
    say "creating virtual environment $TCPLAB_VENV with $("$PYTHON" --version 2>&1)"
    local out=""
    if ! out="$("$PYTHON" -m venv "$TCPLAB_VENV" 2>&1)" || ! venv_ok; then
        # On Debian/Ubuntu the venv module (ensurepip) is in a separate package, python3-venv.
        rm -rf "$TCPLAB_VENV"
        if [ "$CAN_APT" = "1" ]; then
            apt_install_missing python3-venv || true
            out="$("$PYTHON" -m venv "$TCPLAB_VENV" 2>&1)" || true
        fi
        if ! venv_ok; then
            rm -rf "$TCPLAB_VENV"
            printf '%s\n' "$out" >&2
            die "could not create a virtual environment with $PYTHON.
    Debian/Ubuntu:  sudo apt-get install python3-venv     (then run this command again)
    other systems:  make sure '$PYTHON -m venv' works"
        fi
    fi
    echo '*' >"$TCPLAB_VENV/.gitignore"    # keep the venv out of `git status`
    "$TCPLAB_VENV/bin/python" -m pip install -q --upgrade pip || warn "could not upgrade pip; continuing"
}

# Installs tcplab (editable) into .venv, unless the stamp says it is already up to date.
# A "test" install (with the dev extra) also satisfies "lab".
# Two runs at once (say, the test suite starting lab.sh while another run sets up) take turns.
pip_install() {
    if command -v flock >/dev/null 2>&1; then
        ( flock 9; pip_install_unlocked "$1" ) 9>"$TCPLAB_VENV/.tcplab-install.lock"
    else
        pip_install_unlocked "$1"
    fi
}

pip_install_unlocked() {
    local mode="$1" stamp="$TCPLAB_VENV/.tcplab-installed" hash have=""
    hash="$("$TCPLAB_VENV/bin/python" -c \
        'import hashlib, sys; print(hashlib.sha256(open(sys.argv[1], "rb").read()).hexdigest())' \
        pyproject.toml)"
    [ -f "$stamp" ] && have="$(cat "$stamp")"
    if [ "$have" = "$hash test" ] || [ "$have" = "$hash $mode" ]; then
        return
    fi
    local target=".[assignments]"     # the notebooks, and otter-grader for assignments/
    [ "$mode" = "test" ] && target=".[dev]"
    say "pip install -e \"$target\" into $TCPLAB_VENV (first run takes about a minute)"
    rm -f "$stamp"
    "$TCPLAB_VENV/bin/python" -m pip install -q -e "$target" || die "pip install -e \"$target\" failed"
    echo "$hash $mode" >"$stamp"
}

# ---------------------------------------------------------------- system programs

graphviz_instructions() {
    cat >&2 <<'EOF'
Graphviz's `dot` program is not on PATH. tcplab draws its diagrams with it. Install it with one of:
    Debian/Ubuntu:  sudo apt-get install graphviz
    macOS:          brew install graphviz
    conda:          conda install -c conda-forge graphviz
    other:          https://graphviz.org/download/
then run this command again.
EOF
}

check_programs() {
    local mode="$1" pkg
    if ! command -v dot >/dev/null 2>&1; then
        graphviz_instructions
        if [ "$mode" = "lab" ]; then
            exit 1
        fi
        warn "tests that render diagrams will fail until Graphviz is installed"
    fi
    if [ "$mode" = "test" ]; then
        if [ ! -x /usr/lib/chromium/chromium ] && ! command -v chromium >/dev/null 2>&1; then
            warn "Chromium is not installed, so the browser tests will be skipped." \
                 "On Debian: sudo apt-get install chromium"
        fi
        if command -v dpkg-query >/dev/null 2>&1; then
            for pkg in $(apt_missing $(apt_packages_for test)); do
                [ "$pkg" = chromium ] && continue      # reported above
                warn "Debian package '$pkg' is missing: tests that need it will be skipped or fail" \
                     "(sudo apt-get install $pkg)"
            done
        fi
    fi
}

# ---------------------------------------------------------------- main entry

# tcplab_setup lab|test -- run from anywhere; leaves the current directory at the repo root
# and the virtual environment first on PATH.
tcplab_setup() {
    local mode="${1:-}"
    case "$mode" in
        lab|test) ;;
        *) die "usage: tcplab_setup lab|test" ;;
    esac
    cd "$TCPLAB_ROOT"

    if [ "${CI:-}" = "true" ]; then
        export PIP_PROGRESS_BAR=off PIP_NO_INPUT=1
    fi
    export PIP_DISABLE_PIP_VERSION_CHECK=1
    export DEBIAN_FRONTEND=noninteractive

    detect_apt
    if [ "$CAN_APT" = "1" ]; then
        local pkgs=()
        mapfile -t pkgs < <(apt_packages_for "$mode")
        apt_install_missing "${pkgs[@]}" || warn "continuing without some Debian packages"
    fi
    check_python
    make_venv
    pip_install "$mode"
    check_programs "$mode"

    # Like `source .venv/bin/activate`: programs started from here find the venv's tools first.
    export VIRTUAL_ENV="$TCPLAB_ROOT/$TCPLAB_VENV"
    export PATH="$VIRTUAL_ENV/bin:$PATH"
}

# Run directly (`bash scripts/setup.sh lab|test`) rather than sourced.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    set -euo pipefail
    tcplab_setup "$@"
    say "done"
fi
