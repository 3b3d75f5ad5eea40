# Shared settings for the tools/ scripts.  Sourced, not executed.
# shellcheck shell=bash

set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=../base.conf
. "$TOP/base.conf"

# Downloads and ccache live outside the clone, so that a fresh clone (CI)
# neither refetches the base nor rebuilds from scratch.
QS_CACHE=${QS_CACHE:-/var/cache/qcow2-series}
export CCACHE_DIR=${CCACHE_DIR:-$QS_CACHE/ccache}
export CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-5G}
# QEMU's configure passes its compiler to meson in a cross file, which
# turns off meson's own ccache detection: name ccache in the compiler.
# Taken from the environment, so that it does not change the configure
# options that build.sh compares (a build dir is only reconfigured from
# scratch when those change).  Paths below the clone are hashed relative
# to it, so a fresh clone elsewhere still hits the cache.
if command -v ccache >/dev/null; then
    export CC=${CC:-ccache gcc} CXX=${CXX:-ccache g++}
    export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$TOP}
fi

BUILD=$TOP/build
TREE=$BUILD/qemu            # git tree: tag "base" + the series
STOCK_SRC=$BUILD/stock-src  # git worktree of TREE at tag "base"
PATCHED=$BUILD/patched      # meson build dir of TREE
STOCK=$BUILD/stock          # meson build dir of STOCK_SRC
PATCHES=$TOP/patches
# The two series of the queue, in the order they apply: the fix
# (patches/, branch "series" of build/qemu) and the compressed write cache
# on top of it (patches/ccache/, branch "ccache", which is checked out).
# The hardening series (patches/harden/) applies to the base alone.
CCACHE_PATCHES=$PATCHES/ccache
# Every patch of both series, as paths, in order
queue_patches() {
    local d
    for d in "$PATCHES" "$CCACHE_PATCHES"; do
        [ -f "$d/series" ] || continue
        grep -v '^#' "$d/series" | grep . | sed "s|^|$d/|"
    done
}

# QEMU's configure needs the python that Debian's meson is installed for,
# not whatever python3 comes first in PATH.
PY=/usr/bin/python3
JOBS=${JOBS:-$(nproc)}

# Firmware of Debian's packages, for the iotests that start a VM.
FIRMWARE_PATH=/usr/share/qemu:/usr/share/seabios:/usr/lib/ipxe/qemu

log() { printf '[%s] %s\n' "${0##*/}" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# The mirror that this machine's apt already uses for Debian's main
# archive, read from apt itself (never hard-coded in this repository).
apt_mirror() {
    apt-get indextargets --format '$(REPO_URI) $(LABEL)' 2>/dev/null |
        awk '$2 == "Debian" { print $1; exit }'
}

# A private sources list and list state: the system's apt configuration
# is left untouched, we only add deb-src for the base's suite and
# bookworm-backports (for a recent enough meson).
APT_PRIV=$QS_CACHE/apt
apt_opts() {
    echo "-o Dir::Etc::SourceList=$APT_PRIV/sources.list" \
         "-o Dir::State::Lists=$APT_PRIV/lists"
}
apt_private_setup() {
    local mirror
    mirror=$(apt_mirror)
    if [ -z "$mirror" ]; then
        # apt has no lists yet on a brand new machine
        apt-get update -qq
        mirror=$(apt_mirror)
    fi
    [ -n "$mirror" ] || die "cannot derive a Debian mirror from apt's configuration"
    mkdir -p "$APT_PRIV/lists/partial"
    local key=/usr/share/keyrings/debian-archive-keyring.gpg
    local new="$APT_PRIV/sources.list.new"
    {
        echo "deb-src [signed-by=$key] $mirror $QEMU_DEB_SUITE main"
        echo "deb [signed-by=$key] $mirror bookworm-backports main"
    } > "$new"
    if ! cmp -s "$new" "$APT_PRIV/sources.list" 2>/dev/null ||
       [ -z "$(find "$APT_PRIV/lists" -maxdepth 1 -name '*Release' -mmin -720 2>/dev/null)" ]; then
        mv "$new" "$APT_PRIV/sources.list"
        # The system's own sources (SourceParts) stay in; only the list
        # state is private.
        # shellcheck disable=SC2046
        apt-get $(apt_opts) update -qq
    else
        rm -f "$new"
    fi
}

# Configure build dir $1 of build/qemu with clang (tools only) and the
# extra configure options $2...; from scratch only when the options
# changed.  For tools/tsa.sh and tools/tsan.sh.
clang_configure() {
    local dir=$1 clang=${CLANG:-clang-19}
    shift
    command -v "$clang" >/dev/null || die "$clang missing: run tools/deps.sh"
    local ccache=()
    command -v ccache >/dev/null && ccache=(ccache)
    local opts=(--cc="${ccache[*]} $clang" --cxx="${ccache[*]} ${clang/clang/clang++}"
                --python="$PY" "$@" --disable-system --disable-user
                --enable-tools --disable-rust --disable-download --disable-docs
                --disable-install-blobs)
    if [ "$(cat "$dir/.qs-opts" 2>/dev/null)" != "${opts[*]}" ]; then
        rm -rf "$dir"
        mkdir -p "$dir"
        log "configuring $dir"
        (cd "$dir" && "$TREE/configure" "${opts[@]}" >configure.log 2>&1) ||
            { tail -n 20 "$dir/configure.log"; die "configure failed"; }
        echo "${opts[*]}" > "$dir/.qs-opts"
    fi
}
