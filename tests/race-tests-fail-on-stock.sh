#!/bin/bash
# Each test named in tests/fail-on-stock.txt must fail when the iotests run
# the stock binaries (base + qemu-io test commands only), and fail because
# of what it checks (image contents or qemu-img check), not because of a
# usage error.  The same tests pass on the patched build (make test runs
# them there), so this shows that every one of them detects the bug that
# the series fixes.
. "$(dirname "$0")/../tools/common.sh"

[ -x "$STOCK/qemu-io" ] || die "no stock build: run make build"
fail=0
while read -r t; do
    case $t in ''|'#'*) continue ;; esac
    out=$(cd "$PATCHED/tests/qemu-iotests" &&
          QEMU_IO_PROG=$STOCK/qemu-io QEMU_IMG_PROG=$STOCK/qemu-img \
          QEMU_NBD_PROG=$STOCK/qemu-nbd \
          QSD_PROG=$STOCK/storage-daemon/qemu-storage-daemon \
          ./check -qcow2 "$t" 2>&1) || true
    if grep -q "^Failures: $t" <<<"$out" &&
       grep -qE 'holds none of the patterns|"(corruptions|leaks)"|on stock: ' <<<"$out"; then
        echo "ok   $t fails on stock: $(grep -m1 -oE 'holds none of the patterns.*|"(corruptions|leaks)": [0-9]+' <<<"$out")"
    else
        echo "FAIL $t does not fail on stock as it should:"
        tail -n 25 <<<"$out" | sed 's/^/     /'
        fail=1
    fi
done < "$TOP/tests/fail-on-stock.txt"
exit "$fail"
