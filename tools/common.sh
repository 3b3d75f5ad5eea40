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

# The source images of the benchmarks (tools/bench.sh,
# tools/bench-ccache.sh), every cluster allocated (-S 0), generated once
# into DIR with QEMU_IMG, using TMPDIR for the raw data; prints the path.
#   mixed         1 MiB chunks cycling through seeded random data
#                 (incompressible), zeroes and repetitive text
#   compressible  64 KiB clusters: one in 12 zero, the others text in which
#                 0, 2, 4 or 8 of the 16 4 KiB blocks are seeded random
#                 data (compressed to very roughly 10%, 20%, 35% and 55%),
#                 so every non-zero cluster is stored compressed
bench_source_image() { # KIND DIR MIB QEMU_IMG TMPDIR
    local kind=$1 dir=$2 mib=$3 img=$4 tmp=$5
    local src=$dir/$kind-${mib}M-v1.qcow2
    case $kind in
    mixed|compressible) ;;
    *) die "unknown benchmark image kind: $kind" ;;
    esac
    if [ ! -f "$src" ]; then
        mkdir -p "$dir"
        log "generating $src (once)"
        "$PY" - "$tmp/$kind.raw" "$mib" "$kind" <<'PYEOF'
import random, sys
text = b''.join(b'%08d qcow2 in-flight host range references, line of text\n' % i
                for i in range(20000))
MIB, CL, BLK = 1 << 20, 1 << 16, 1 << 12
with open(sys.argv[1], 'wb') as f:
    if sys.argv[3] == 'mixed':
        for i in range(int(sys.argv[2])):
            k = i % 3
            if k == 0:
                f.write(random.Random(i).randbytes(MIB))
            elif k == 1:
                f.write(bytes(MIB))
            else:
                off = (i * 4099) % (len(text) - MIB)
                f.write(text[off:off + MIB])
    else:
        for i in range(int(sys.argv[2]) * (MIB // CL)):
            if i % 12 == 11:
                f.write(bytes(CL))
                continue
            rnd = random.Random(i)
            off = (i * 4099) % (len(text) - CL)
            c = bytearray(text[off:off + CL])
            for b in rnd.sample(range(CL // BLK), (0, 2, 4, 8)[(i * 7 + i // 12) % 4]):
                c[b * BLK:(b + 1) * BLK] = rnd.randbytes(BLK)
            f.write(c)
PYEOF
        "$img" convert -S 0 -f raw -O qcow2 "$tmp/$kind.raw" "$src.tmp.$$"
        mv "$src.tmp.$$" "$src"
        rm -f "$tmp/$kind.raw"
    fi
    echo "$src"
}
bench_mixed_image() { # DIR MIB QEMU_IMG TMPDIR
    bench_source_image mixed "$@"
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
