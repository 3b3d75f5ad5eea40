#!/bin/bash
# List or run the iotests that the series adds.
#   series-iotests.sh list [TREE]      names of the series' iotests
#   series-iotests.sh run BUILDDIR [TREE]  run those in 'auto' with ./check
# A test whose group line says 'disabled' is listed but not run: it
# reproduces a bug that a later patch of the series fixes.
. "$(dirname "$0")/common.sh"

list() {
    local tree=${1:-$TREE}
    git -C "$tree" diff --name-only --diff-filter=A base HEAD -- \
        tests/qemu-iotests/tests/ | grep -v '\.out$' |
        sed 's|^tests/qemu-iotests/tests/||' || true
}

is_auto() {
    sed -n '2p' "$1" | grep -qw auto
}

case ${1:-} in
list) list "${2:-}" ;;
run)
    dir=${2:?build dir}
    tree=${3:-$TREE}
    # ./check wants a system emulator even for tests that start no VM; a
    # tools-only build (check-series) borrows the patched build's.
    if ! ls "$dir"/qemu-system-* >/dev/null 2>&1; then
        export QEMU_PROG=$PATCHED/qemu-system-x86_64
    fi
    pass=0; fail=0; skip=0
    for t in $(list "$tree"); do
        if ! is_auto "$tree/tests/qemu-iotests/tests/$t"; then
            echo "skip $t (not in group auto)"
            skip=$((skip + 1))
            continue
        fi
        if out=$(cd "$dir/tests/qemu-iotests" && ./check -qcow2 "$t" 2>&1) &&
           ! grep -q '^Failures:' <<<"$out"; then
            if grep -q "not run" <<<"$out"; then
                echo "skip $t"; skip=$((skip + 1))
            else
                echo "ok   $t"; pass=$((pass + 1))
            fi
        else
            echo "FAIL $t"
            echo "$out" | sed 's/^/     /' | tail -n 40
            fail=$((fail + 1))
        fi
    done
    echo "series iotests: $pass passed, $fail failed, $skip skipped"
    [ "$fail" = 0 ]
    ;;
*) die "usage: series-iotests.sh list [TREE] | run BUILDDIR [TREE]" ;;
esac
