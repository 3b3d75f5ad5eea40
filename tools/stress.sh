#!/bin/bash
# Randomized concurrency stress test of qcow2 (tests/stress/qcow2_stress.py).
#
#   tools/stress.sh                   short mode: a few runs, <= 2 minutes
#   tools/stress.sh --long MINUTES    soak: all image variants, random seeds,
#                                     until MINUTES have passed
#   tools/stress.sh --crash           kill -9 the daemon at a random time in
#                                     each run, then check the image (crash
#                                     consistency); short: 12 runs of <= 4 s
#   tools/stress.sh --inject          blkdebug EIO/ENOSPC injection windows
#                                     during the I/O; short: 4 runs of 10 s
#   options: --build stock|patched|PATH (default patched)
#            --seed N   (first seed; the runs use N, N+1, ...; default random)
#            --run-seconds S (seconds of I/O per run; default 15 short, 60
#                        long; --crash 4; --inject 10 short, 20 long)
#            --runs N   (short mode: number of runs)
#            -- ARGS    passed on to every qcow2_stress.py run
#   --crash and --inject combine with --long MINUTES (runs until then).
#
# Prints one PASS/FAIL line per run (with its seed and a replay command on
# failure), then a final line "N passed, N failed"; exits non-zero if any
# run failed.
set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PY=/usr/bin/python3
STRESS=$TOP/tests/stress/qcow2_stress.py

build=patched
long=""
seed=""
run_s=""
runs=""
mode=()
extra=()
while [ $# -gt 0 ]; do
    case $1 in
        --long) long=$2; shift 2 ;;
        --crash) mode=(--crash); shift ;;
        --inject) mode=(--inject); shift ;;
        --runs) runs=$2; shift 2 ;;
        --build) build=$2; shift 2 ;;
        --seed) seed=$2; shift 2 ;;
        --run-seconds) run_s=$2; shift 2 ;;
        --) shift; extra=("$@"); break ;;
        -h|--help) sed -n '2,26p' "$0"; exit 0 ;;
        *) echo "usage: $0 [--long MINUTES] [--crash|--inject] [--build B] [--seed N] [--run-seconds S] [--runs N] [-- ARGS]" >&2
           exit 2 ;;
    esac
done
[ -n "$seed" ] || seed=$(( $(od -An -N3 -tu4 /dev/urandom) ))

# The image variants: qemu-img create options of qcow2_stress.py.
variants=(
    "--cluster-size 64K"
    "--cluster-size 4K"
    "--cluster-size 64K --extended-l2"
    "--cluster-size 64K --lazy-refcounts"
    "--cluster-size 4K --lazy-refcounts"
    "--cluster-size 64K --extended-l2 --lazy-refcounts"
    "--cluster-size 64K --compressed-heavy"
    "--cluster-size 64K --extended-l2 --compressed-heavy"
)
# The compressed write cache exists in the patched build only.  The base
# links a compressed write's L2 entry before its data, so requests that
# overlap one in flight are held back on stock (the series fixes that).
buildopts=()
case $build in
*stock*) buildopts=(--no-compressed-overlap) ;;
*)  variants+=(
        "--cluster-size 64K --compressed-heavy --compressed-cache"
        "--cluster-size 4K --compressed-heavy --compressed-cache"
    ) ;;
esac

passed=0
failed=0
child=""
# End the run in progress (and only it) on Ctrl-C or termination; the
# Python test ends its own daemon when it gets the signal.
cleanup() {
    if [ -n "$child" ] && kill -0 "$child" 2>/dev/null; then
        kill -TERM "$child" 2>/dev/null || true
        wait "$child" 2>/dev/null || true
    fi
}
trap 'cleanup; echo "interrupted"; echo "$passed passed, $failed failed"; exit 130' INT TERM
trap cleanup EXIT

# run SEED SECONDS VARIANT-ARGS...
run() {
    local s=$1 secs=$2 rc=0
    shift 2
    # shellcheck disable=SC2086
    "$PY" "$STRESS" --build "$build" --seed "$s" --duration "$secs" "$@" \
        ${buildopts[@]+"${buildopts[@]}"} \
        ${mode[@]+"${mode[@]}"} ${extra[@]+"${extra[@]}"} &
    child=$!
    wait "$child" || rc=$?
    child=""
    if [ "$rc" -eq 0 ]; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
    fi
}

case ${mode[0]:-} in
    --crash) def_short=4; def_long=4; def_runs=12 ;;
    --inject) def_short=10; def_long=20; def_runs=4 ;;
    *) def_short=15; def_long=60; def_runs=4 ;;
esac
if [ -z "$long" ]; then
    # Short mode: 4 runs of 15 s of I/O plus about 3 s of setup and checks
    # each: well under 2 minutes (--crash: 12 runs of at most 4 s).
    secs=${run_s:-$def_short}
    n=${runs:-$def_runs}
    for ((i = 0; i < n; i++)); do
        if [ ${#mode[@]} -eq 0 ]; then
            v=${variants[$((i % 4))]}
        else
            v=${variants[$((i % ${#variants[@]}))]}
        fi
        # shellcheck disable=SC2086
        run $((seed + i)) "$secs" $v
    done
else
    [[ $long =~ ^[0-9]+$ ]] || { echo "--long needs whole minutes" >&2; exit 2; }
    secs=${run_s:-$def_long}
    end=$(( $(date +%s) + long * 60 ))
    i=0
    while :; do
        left=$(( end - $(date +%s) ))
        [ "$left" -gt 5 ] || break
        d=$(( left - 5 < secs ? left - 5 : secs ))
        v=${variants[$((i % ${#variants[@]}))]}
        # shellcheck disable=SC2086
        run $((seed + i)) "$d" $v
        i=$((i + 1))
    done
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
