#!/bin/bash
# Install what building and testing the series needs (Debian 12, as root).
# Idempotent: packages already installed are not touched, and apt is not
# consulted at all when nothing is missing.
. "$(dirname "$0")/common.sh"

# meson >= 1.5 and pycotap (meson's TAP parser for the iotests) come from
# bookworm-backports.
BACKPORTS="meson python3-pycotap"
PKGS="ninja-build libglib2.0-dev zlib1g-dev libzstd-dev libpixman-1-dev
      libfdt-dev libslirp-dev libaio-dev liburing-dev libnbd-dev
      libgnutls28-dev libfuse3-dev fuse3 python3-libnbd
      python3-venv bzip2 xz-utils flex bison dpkg-dev ccache git make
      gcc perl
      seabios ipxe-qemu qemu-system-data
      clang-19 libclang-rt-19-dev llvm-19 valgrind fio strace util-linux"

missing() {
    local p
    for p in "$@"; do
        dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null |
            grep -q '^install ok installed$' || echo "$p"
    done
}

meson_ok() {
    local v
    v=$(meson --version 2>/dev/null) || return 1
    dpkg --compare-versions "$v" ge 1.5
}

need_bp=$(missing $BACKPORTS)
meson_ok || need_bp="$BACKPORTS"
# shellcheck disable=SC2086
need=$(missing $PKGS)

if [ -z "$need_bp" ] && [ -z "$need" ]; then
    log "all dependencies present"
    exit 0
fi
[ "$(id -u)" = 0 ] || die "missing packages ($need_bp $need): run as root"

apt_private_setup
export DEBIAN_FRONTEND=noninteractive
# shellcheck disable=SC2046,SC2086
if [ -n "$need_bp" ]; then
    log "installing from bookworm-backports: $need_bp"
    apt-get $(apt_opts) install -y -q -t bookworm-backports $need_bp
fi
# shellcheck disable=SC2046,SC2086
if [ -n "$need" ]; then
    log "installing: $need"
    apt-get $(apt_opts) install -y -q --no-install-recommends $need
fi
meson_ok || die "meson >= 1.5 is required"
