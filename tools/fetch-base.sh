#!/bin/bash
# Fetch the pinned Debian source package of QEMU with apt's own client,
# verify the orig tarball, and unpack it (with Debian's patches applied by
# dpkg-source) into $QS_CACHE/base-<version>/.  Downloads are cached.
. "$(dirname "$0")/common.sh"

upver=${QEMU_DEB_VERSION#*:}            # 10.2.2+ds-1
origver=${upver%-*}                     # 10.2.2+ds
SRC=$QS_CACHE/src
ORIG=$SRC/${QEMU_SRC_PACKAGE}_${origver}.orig.tar.xz
DSC=$SRC/${QEMU_SRC_PACKAGE}_${upver}.dsc
UNPACKED=$QS_CACHE/base-$upver

verify() {
    echo "$QEMU_ORIG_SHA256  $ORIG" | sha256sum -c --quiet - 2>/dev/null
}

mkdir -p "$SRC"
if [ ! -f "$DSC" ] || ! verify; then
    apt_private_setup
    log "fetching $QEMU_SRC_PACKAGE=$QEMU_DEB_VERSION with apt-get source"
    # apt's _apt user cannot write into root-owned cache dirs; the files
    # are verified below, so fetching as root is fine.
    # shellcheck disable=SC2046
    (cd "$SRC" && apt-get $(apt_opts) -o APT::Sandbox::User=root -q \
        source --download-only "$QEMU_SRC_PACKAGE=$QEMU_DEB_VERSION")
fi
verify || die "SHA-256 of $ORIG is not $QEMU_ORIG_SHA256"

if [ ! -f "$UNPACKED/.unpacked" ]; then
    rm -rf "$UNPACKED"
    log "unpacking with dpkg-source -x"
    dpkg-source -x "$DSC" "$UNPACKED" >"$SRC/dpkg-source.log" 2>&1 ||
        { cat "$SRC/dpkg-source.log"; die "dpkg-source -x failed"; }
    touch "$UNPACKED/.unpacked"
fi
echo "$UNPACKED"
