#!/bin/bash
# Replay the two reported reproducers against the stock and the patched
# build and show, side by side, which ranges hold what they should and
# what qemu-img check says about each image.
. "$(dirname "$0")/common.sh"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Case (a): a rewrite in flight while its cluster is discarded and reused.
case_a=(
    'write -P 1 0 64K'
    'break write_aio A'
    'aio_write -P 2 0 64K'
    'wait_break A'
    'discard 0 64K'
    'write -P 3 128K 64K'
    'resume A'
    'aio_flush'
)
# Case (b): a compressed write in flight while its cluster is discarded
# and reused.
case_b=(
    'break write_compressed A'
    'aio_write -c -P 1 0 64K'
    'wait_break A'
    'discard 0 64K'
    'write -P 3 128K 64K'
    'resume A'
    'aio_flush'
)
# The ranges to verify after each case: offset length allowed-patterns
# (the raced guest cluster may read as either of the racing values).
expect='0 64K 0,1,2
64K 64K 0
128K 64K 3
192K 832K 0'

# matches BUILD IMAGE OFFSET LENGTH PATTERN: the range holds only PATTERN
matches() {
    local out
    out=$("$1/qemu-io" -r -c "read -P $5 $3 $4" "$2" 2>&1)
    grep -q '^read ' <<<"$out" && ! grep -q 'verification failed' <<<"$out"
}

# run BUILD CASE-ARRAY-NAME: prints one result line
run() {
    local build=$1 name=$2 img=$work/$2-${1##*/}.qcow2
    local -n cmds=$name
    "$build/qemu-img" create -q -f qcow2 "$img" 1M
    printf '%s\n' "${cmds[@]}" |
        timeout 60 "$build/qemu-io" "blkdebug::$img" >"$img.log" 2>&1 ||
        { echo "qemu-io failed: $(tail -n 3 "$img.log")"; return; }
    local bad="" off len pats p found
    while read -r off len pats; do
        found=""
        for p in ${pats//,/ }; do
            matches "$build" "$img" "$off" "$len" "$p" && { found=$p; break; }
        done
        if [ -z "$found" ]; then
            # Name what the range holds instead, if it is one of ours
            for p in 0 1 2 3; do
                matches "$build" "$img" "$off" "$len" "$p" &&
                    { found="holds pattern $p"; break; }
            done
            bad="$bad [$off+$len ${found:-holds other data}]"
        fi
    done <<<"$expect"
    local chk
    chk=$("$build/qemu-img" check "$img" 2>&1 |
          grep -E 'No errors|ERROR|corruptions|leaked' | head -n 1)
    printf '%-7s%s | qemu-img check: %s\n' "${bad:+CORRUPT}" \
        "${bad:-all ranges as expected}" "$chk"
}

printf 'Case (a) rewrite vs discard + reuse\n'
printf '  stock:   '; run "$STOCK" case_a
printf '  patched: '; run "$PATCHED" case_a
printf 'Case (b) compressed write vs discard + reuse\n'
printf '  stock:   '; run "$STOCK" case_b
printf '  patched: '; run "$PATCHED" case_b
