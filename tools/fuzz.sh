#!/bin/bash
# QEMU's image fuzzer (tests/image-fuzzer) on the stock, the patched and the
# hardened build (patches/harden/), same seeds (tests/stress/qcow2_fuzz.py):
# overlapping qemu-io requests, qemu-img info/check/map/convert/rebase/
# amend/snapshot/commit and a qemu-nbd export queried for block status, on
# every fuzzed image.
#
#   tools/fuzz.sh [--seeds A-B] [--timeout S] [--jobs N] [--stock DIR]
#                 [--patched DIR] [--harden DIR] [--no-stock] [--no-patched]
#                 [--jsonl FILE]
#
# Defaults: seeds 1-200 (each with the "all" and the "tables" fuzzer
# configurations), a tool that has not exited after 60 s is a hang, nproc
# images at a time, build/stock, build/patched and build/harden-build (each
# if built).  Exit status: with the hardened build, non-zero if it has any
# abort, assertion failure, signal or hang; without it, non-zero if the
# patched build has one that stock does not have.
set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
seeds=1-200
timeout=60
jobs=$(nproc)
stock=$TOP/build/stock
patched=$TOP/build/patched
harden=$TOP/build/harden-build
extra=()
while [ $# -gt 0 ]; do
    case $1 in
        --seeds) seeds=$2; shift 2 ;;
        --timeout) timeout=$2; shift 2 ;;
        --jobs) jobs=$2; shift 2 ;;
        --stock) stock=$2; shift 2 ;;
        --patched) patched=$2; shift 2 ;;
        --harden) harden=$2; shift 2 ;;
        --no-stock) stock=; shift ;;
        --no-patched) patched=; shift ;;
        --jsonl) extra+=(--jsonl "$2"); shift 2 ;;
        -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
        *) echo "usage: $0 [--seeds A-B] [--timeout S] [--jobs N] [--stock DIR]" \
                "[--patched DIR] [--harden DIR] [--no-stock] [--no-patched]" \
                "[--jsonl FILE]" >&2
           exit 2 ;;
    esac
done
builds=()
for b in "stock=$stock" "patched=$patched" "harden=$harden"; do
    [ -x "${b#*=}/qemu-io" ] && builds+=(--build "$b")
done
[ ${#builds[@]} -gt 0 ] || { echo "no build to fuzz" >&2; exit 2; }
if [ -x "$harden/qemu-io" ]; then
    extra+=(--strict)
fi
exec /usr/bin/python3 "$TOP/tests/stress/qcow2_fuzz.py" --seeds "$seeds" \
    --timeout "$timeout" --jobs "$jobs" "${extra[@]}" "${builds[@]}"
