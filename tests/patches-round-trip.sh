#!/bin/bash
# patches/ is exactly what the export target makes of build/qemu: the tree
# that `make tree` applied from patches/ exports byte-identical (so the
# export is stable), and a tree with commits not yet exported fails here.
. "$(dirname "$0")/../tools/common.sh"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
QS_EXPORT_DIR=$tmp "$TOP/tools/export.sh" 2>/dev/null
# (recursive: patches/ccache/ too)
diff -r -x cover-letter.txt -x subject-prefix -x harden "$PATCHES" "$tmp" >&2 || {
    echo "patches/ differs from a fresh export of $TREE" >&2
    exit 1
}
