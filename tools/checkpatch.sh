#!/bin/bash
# scripts/checkpatch.pl on every patch of patches/ and patches/ccache/ (the
# cover letters aside).
. "$(dirname "$0")/common.sh"

[ -x "$TREE/scripts/checkpatch.pl" ] || die "no tree at $TREE: run make tree"
fail=0
n=0
while read -r p; do
    n=$((n + 1))
    if out=$(cd "$TREE" && perl scripts/checkpatch.pl -q "$p" 2>&1); then
        echo "ok   ${p#"$TOP"/}"
    else
        echo "FAIL ${p#"$TOP"/}"
        echo "$out" | sed 's/^/     /'
        fail=$((fail + 1))
    fi
done < <(queue_patches)
echo "checkpatch: $((n - fail)) passed, $fail failed"
[ "$fail" = 0 ]
