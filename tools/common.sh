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

BUILD=$TOP/build
TREE=$BUILD/qemu            # git tree: tag "base" + the series
STOCK_SRC=$BUILD/stock-src  # git worktree of TREE at tag "base"
PATCHED=$BUILD/patched      # meson build dir of TREE
STOCK=$BUILD/stock          # meson build dir of STOCK_SRC
PATCHES=$TOP/patches

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

# The mixed-content source image of the benchmarks (tools/bench.sh,
# tools/bench-ccache.sh): MIB MiB in 1 MiB chunks cycling through seeded
# random data (incompressible), zeroes and repetitive text
# (compressible), every cluster allocated (-S 0).  Generated once into
# DIR with QEMU_IMG, using TMPDIR for the raw data; prints its path.
bench_mixed_image() { # DIR MIB QEMU_IMG TMPDIR
    local dir=$1 mib=$2 img=$3 tmp=$4
    local src=$dir/mixed-${mib}M-v1.qcow2
    if [ ! -f "$src" ]; then
        mkdir -p "$dir"
        log "generating $src (once)"
        "$PY" - "$tmp/mixed.raw" "$mib" <<'PYEOF'
import random, sys
text = b''.join(b'%08d qcow2 in-flight host range references, line of text\n' % i
                for i in range(20000))
with open(sys.argv[1], 'wb') as f:
    for i in range(int(sys.argv[2])):
        k = i % 3
        if k == 0:
            f.write(random.Random(i).randbytes(1 << 20))
        elif k == 1:
            f.write(bytes(1 << 20))
        else:
            off = (i * 4099) % (len(text) - (1 << 20))
            f.write(text[off:off + (1 << 20)])
PYEOF
        "$img" convert -S 0 -f raw -O qcow2 "$tmp/mixed.raw" "$src.tmp.$$"
        mv "$src.tmp.$$" "$src"
        rm -f "$tmp/mixed.raw"
    fi
    echo "$src"
}
