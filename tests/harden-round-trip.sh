#!/bin/bash
# patches/harden/ is exactly what `make harden-export` makes of the branch
# harden (build/harden): stable export, nothing committed there unexported.
. "$(dirname "$0")/../tools/common.sh"

[ -e "$BUILD/harden/.git" ] || "$TOP/tools/harden.sh" tree >/dev/null
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
QS_TREE=$BUILD/harden QS_PATCHES=$PATCHES/harden QS_EXPORT_DIR=$tmp \
    "$TOP/tools/export.sh" 2>/dev/null
diff -r -x cover-letter.txt -x subject-prefix "$PATCHES/harden" "$tmp" >&2 || {
    echo "patches/harden/ differs from a fresh export of $BUILD/harden" >&2
    exit 1
}
