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

# run BUILD CASE-ARRAY-NAME -> prints one result line
run() {
    local build=$1 img=$work/$2-$1.qcow2
    local -n cmds=$2
    "$build/qemu-img" create -q -f qcow2 "$img" 1M
    printf '%s\n' "${cmds[@]}" |
        timeout 60 "$build/qemu-io" "blkdebug::$img" >"$img.log" 2>&1 ||
        { echo "qemu-io failed, see $img.log"; return; }
    local bad="" off len pats p okp
    while read -r off len pats; do
        okp=""
        for p in ${pats//,/ }; do
            if "$build/qemu-io" -r -c "read -P $p $off $len" "$img" 2>&1 |
                grep -q '^read '; then
                if ! "$build/qemu-io" -r -c "read -P $p $off $len" "$img" 2>&1 |
                    grep -q 'verification failed'; then
                    okp=$p; break
                fi
            fi
        done
        if [ -z "$okp" ]; then
            # Name the pattern that the range holds now, if it is one of
            # those the case wrote.
            for p in 0 1 2 3; do
                "$build/qemu-io" -r -c "read -P $p $off $len" "$img" 2>&1 |
                    grep -q 'verification failed' || { okp="holds $p"; break; }
            done
            bad="$bad [$off+$len: ${okp:-mixed data}]"
        fi
    done <<<"$expect"
    local chk
    chk=$("$build/qemu-img" check "$img" 2>&1 | grep -E 'No errors|ERROR|corruption|leaked' | head -n 1)
    printf '%-8s %s | check: %s\n' "${bad:+CORRUPT}" "${bad:-data ok}" "$chk"
}

printf 'Case (a) rewrite vs discard + reuse\n'
printf '  stock:   '; run "$STOCK" case_a
printf '  patched: '; run "$PATCHED" case_a
printf 'Case (b) compressed write vs discard + reuse\n'
printf '  stock:   '; run "$STOCK" case_b
printf '  patched: '; run "$PATCHED" case_b
