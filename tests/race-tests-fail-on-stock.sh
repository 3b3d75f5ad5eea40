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
    # A test case that detects the bug fails an assertion (FAIL); one that
    # cannot even run on stock raises an exception (ERROR) or trips over
    # a qemu-io command that stock does not know.
    nfail=$(grep -c '^+FAIL: test' <<<"$out" || true)
    if grep -q "^Failures: $t" <<<"$out" && [ "$nfail" -gt 0 ] &&
       ! grep -qE '^\+ERROR: test|Could not set breakpoint|invalid option|not supported' <<<"$out"; then
        echo "ok   $t: $nfail test case(s) fail on stock"
        grep -E '^\+AssertionError' <<<"$out" | cut -c2-160 | sed 's/^/       /'
    else
        echo "FAIL $t does not fail on stock as it should:"
        tail -n 25 <<<"$out" | sed 's/^/     /'
        fail=1
    fi
done < "$TOP/tests/fail-on-stock.txt"
exit "$fail"
