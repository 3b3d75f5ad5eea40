#!/bin/bash
# scripts/checkpatch.pl on every patch of patches/ (the cover letter aside).
. "$(dirname "$0")/common.sh"

[ -x "$TREE/scripts/checkpatch.pl" ] || die "no tree at $TREE: run make tree"
fail=0
n=0
while read -r p; do
    case $p in ''|'#'*) continue ;; esac
    n=$((n + 1))
    if out=$(cd "$TREE" && perl scripts/checkpatch.pl -q "$PATCHES/$p" 2>&1); then
        echo "ok   $p"
    else
        echo "FAIL $p"
        echo "$out" | sed 's/^/     /'
        fail=$((fail + 1))
    fi
done < "$PATCHES/series"
echo "checkpatch: $((n - fail)) passed, $fail failed"
[ "$fail" = 0 ]
