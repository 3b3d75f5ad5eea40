#!/bin/bash
# QEMU's image fuzzer (tests/image-fuzzer) with concurrent qemu-io commands,
# on the stock and the patched build, same seeds (tests/stress/qcow2_fuzz.py).
#
#   tools/fuzz.sh [--seeds A-B] [--timeout S] [--stock DIR] [--patched DIR]
#
# Defaults: seeds 1-200 (each with the "all" and the "tables" fuzzer
# configurations), a qemu-io run that has not exited after 30 s is a hang,
# build/stock and build/patched.  Exits non-zero if the patched build has an
# abort, assertion failure, signal or hang that stock does not have.
set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
seeds=1-200
timeout=30
stock=$TOP/build/stock
patched=$TOP/build/patched
while [ $# -gt 0 ]; do
    case $1 in
        --seeds) seeds=$2; shift 2 ;;
        --timeout) timeout=$2; shift 2 ;;
        --stock) stock=$2; shift 2 ;;
        --patched) patched=$2; shift 2 ;;
        -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
        *) echo "usage: $0 [--seeds A-B] [--timeout S] [--stock DIR] [--patched DIR]" >&2
           exit 2 ;;
    esac
done
exec /usr/bin/python3 "$TOP/tests/stress/qcow2_fuzz.py" --seeds "$seeds" \
    --timeout "$timeout" --build "stock=$stock" --build "patched=$patched"
