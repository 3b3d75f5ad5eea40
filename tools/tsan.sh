#!/bin/bash
# Build the series' unit tests with clang and ThreadSanitizer
# (--enable-tsan) in build/tsan, and run them with halt_on_error=1: the
# multiqueue unit test takes and drops in-flight references and releases
# retired clusters from two iothreads, so a data race in the epoch
# counters or in what they protect shows up as a report here.
# About 15 minutes on a 2-core machine from scratch (ccache makes a
# rebuild after a change of the series a matter of minutes).
#
#   tools/tsan.sh            build and run every unit test of the series
#   TSAN_SOAK_MINUTES=30 tools/tsan.sh
#                            only the multi-iothread stress
#                            (test-qcow2-stress), its 6 variants sharing
#                            the minutes (QCOW2_STRESS_SECONDS); the
#                            output is filtered as it is produced, so the
#                            base's reports of a long run take no disk
#                            space (build/tsan/test-qcow2-stress.log keeps
#                            the test's own lines and the series' reports)
#   QCOW2_STRESS_SEED=N      passed on to the stress (its seed)
. "$(dirname "$0")/common.sh"

CLANG=${CLANG:-clang-19}
dir=$BUILD/tsan
clang_configure "$dir" --enable-tsan

soak=${TSAN_SOAK_MINUTES:-}
case $soak in
    "") ;;
    *[!0-9]*|0) die "TSAN_SOAK_MINUTES must be a positive number of minutes" ;;
esac
tests=()
for src in $(git -C "$TREE" diff --name-only --diff-filter=A base HEAD -- 'tests/unit/*.c'); do
    tests+=("tests/unit/$(basename "$src" .c)")
done
[ ${#tests[@]} -gt 0 ] || die "the series adds no unit test"
if [ -n "$soak" ]; then
    tests=(tests/unit/test-qcow2-stress)
    # 6 variants share the minutes
    export QCOW2_STRESS_SECONDS=$((soak * 60 / 6))
fi
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
# filter: the test's own lines and every report in the series' code go
# to the log whole; the other reports are only counted by their top
# frame (a soak prints hundreds of thousands of them)
filter() {
    awk -v ours='qcow2-inflight\\.c|qcow2_inflight_|test-qcow2-stress\\.c' '
        function flush_report() {
            if (nrep == 0) return
            total++
            if (mine) { for (i = 1; i <= nrep; i++) print rep[i]; nours++ }
            else top[first]++
            nrep = 0; mine = 0; first = ""
        }
        /^WARNING: ThreadSanitizer/ { flush_report(); inrep = 1 }
        inrep {
            rep[++nrep] = $0
            if ($0 ~ /#0 / && $0 ~ ours) mine = 1
            if (first == "" && $0 ~ /#0 /) {
                f = $0; sub(/ \(.*/, "", f); sub(/^ *#0 /, "", f)
                sub(/\/work\/[^ ]*\/qemu\//, "", f); first = f
            }
            if ($0 ~ /^SUMMARY: ThreadSanitizer/) { inrep = 0; flush_report() }
            next
        }
        /^==================$/ { next }
        { print }
        END {
            flush_report()
            printf "TSAN-TOTAL %d\nTSAN-OURS %d\n", total, nours
            for (f in top) printf "TSAN-TOP %d %s\n", top[f], f
        }'
}

fail=0
for t in "${tests[@]}"; do
    log=$dir/${t##*/}.log
    rc=0
    limit=1200
    [ -z "$soak" ] || limit=$((soak * 60 * 3 + 600))
    [ -z "$soak" ] || log "soak: ${t##*/}, $soak minutes (QCOW2_STRESS_SECONDS=$QCOW2_STRESS_SECONDS per variant)"
    start=$(date +%s)
    { TSAN_OPTIONS="halt_on_error=0 second_deadlock_stack=1 suppressions=$supp external_symbolizer_path=$symbolizer" \
        timeout "$limit" "$dir/$t" 2>&1 || echo "TEST-EXIT $?"; } | filter >"$log"
    rc=$(sed -n 's/^TEST-EXIT //p' "$log" | tail -n 1)
    rc=${rc:-0}
    ours=$(sed -n 's/^TSAN-OURS //p' "$log")
    total=$(sed -n 's/^TSAN-TOTAL //p' "$log")
    secs=$(($(date +%s) - start))
    if grep -q '^not ok\|^Bail out' "$log" || { [ "$rc" != 0 ] && [ "$rc" != 66 ]; }; then
        echo "FAIL tsan ${t##*/}: the test itself failed (exit $rc, $log)"
        fail=1
    elif [ "$ours" != 0 ]; then
        echo "FAIL tsan ${t##*/}: $ours report(s) in the series' code ($log)"
        fail=1
    else
        echo "ok   tsan ${t##*/} ($secs s): no report in the series' code; $total report(s) of the base, by top frame:"
    fi
    grep '^# .*requests' "$log" | tail -n 8 | sed 's/^/       /'
    sed -n 's/^TSAN-TOP //p' "$log" | sort -rn | head -n 12 | sed 's/^/       /'
done
exit "$fail"
