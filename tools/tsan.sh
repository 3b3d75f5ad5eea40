#!/bin/bash
# Build the series' unit tests with clang and ThreadSanitizer
# (--enable-tsan) in build/tsan, and run them with halt_on_error=1: the
# multiqueue unit test takes and drops in-flight references and releases
# retired clusters from two iothreads, so a data race in the epoch
# counters or in what they protect shows up as a report here.
# About 15 minutes on a 2-core machine from scratch (ccache makes a
# rebuild after a change of the series a matter of minutes).
. "$(dirname "$0")/common.sh"

CLANG=${CLANG:-clang-19}
dir=$BUILD/tsan
clang_configure "$dir" --enable-tsan

tests=()
for src in $(git -C "$TREE" diff --name-only --diff-filter=A base HEAD -- 'tests/unit/*.c'); do
    tests+=("tests/unit/$(basename "$src" .c)")
done
[ ${#tests[@]} -gt 0 ] || die "the series adds no unit test"
log "building ${tests[*]} in $dir"
ninja -C "$dir" -j "$JOBS" "${tests[@]}" >"$dir/ninja.log" 2>&1 ||
    { grep -E 'error' -A5 "$dir/ninja.log" | head -n 30; die "build failed ($dir/ninja.log)"; }

# QEMU's own suppressions, plus the reports of the base that we found
# (tests/tsan/base.supp, each recorded in docs/reliability.md)
supp=$dir/suppressions.tsan
cat "$TREE/tests/tsan/suppressions.tsan" "$TOP/tests/tsan/base.supp" > "$supp"
symbolizer=/usr/lib/llvm-19/bin/llvm-symbolizer

# QEMU 10.2.2's coroutine locks (CoMutex, which s->lock is) and block
# backend counters are not fully visible to ThreadSanitizer, which reports
# hundreds of races inside util/qemu-coroutine-lock.c and, as a
# consequence, on data that s->lock protects; halting on the first one
# would never reach the series' code.  So the run collects every report,
# and fails on those whose racing accesses (frame #0 of either side) are
# in the series' own code: the epoch counters and retired runs
# (qcow2-inflight.c and the qcow2_inflight_* helpers of qcow2.h).  The
# other reports are summarized by their top frame.
fail=0
for t in "${tests[@]}"; do
    log=$dir/${t##*/}.log
    rc=0
    TSAN_OPTIONS="halt_on_error=0 second_deadlock_stack=1 suppressions=$supp external_symbolizer_path=$symbolizer" \
        timeout 1200 "$dir/$t" >"$log" 2>&1 || rc=$?
    ours=$(awk '/^WARNING: ThreadSanitizer/ {r = 1; next}
                r && /#0 / && /qcow2-inflight\.c|qcow2_inflight_/ {n++; r = 0}
                /^SUMMARY/ {r = 0}
                END {print n + 0}' "$log")
    total=$(grep -c '^WARNING: ThreadSanitizer' "$log" || true)
    if grep -q '^not ok\|^Bail out' "$log" || { [ "$rc" != 0 ] && [ "$rc" != 66 ]; }; then
        echo "FAIL tsan ${t##*/}: the test itself failed (exit $rc, $log)"
        fail=1
    elif [ "$ours" != 0 ]; then
        echo "FAIL tsan ${t##*/}: $ours report(s) in the series' code ($log)"
        fail=1
    else
        echo "ok   tsan ${t##*/}: no report in the series' code; $total report(s) of the base, by top frame:"
    fi
    awk '/^WARNING: ThreadSanitizer/ {getline; getline; sub(/ \(.*/, ""); sub(/^ *#0 /, ""); print}' "$log" |
        sed 's|/work/[^ ]*/qemu/||' | sort | uniq -c | sort -rn | head -n 12 | sed 's/^/       /'
done
exit "$fail"
