#!/bin/bash
# Compile the qcow2 driver (and the series' unit tests) of build/qemu with
# clang and QEMU's thread-safety analysis (-Wthread-safety, enabled by
# meson.build for a clang that supports it), warnings as errors: checks
# the coroutine_fn/GRAPH_RDLOCK annotations of the series.
. "$(dirname "$0")/common.sh"

CLANG=${CLANG:-clang-19}
dir=$BUILD/clang
clang_configure "$dir"
grep -q -- -Wthread-safety "$dir/build.ninja" ||
    die "$CLANG does not enable -Wthread-safety for this tree"

targets=()
for f in "$TREE"/block/qcow2*.c; do
    targets+=("libblock.a.p/block_$(basename "$f").o")
done
for src in $(git -C "$TREE" diff --name-only --diff-filter=A base HEAD -- 'tests/unit/*.c'); do
    t=$(basename "$src" .c)
    targets+=("tests/unit/$t.p/$t.c.o")
done
if ninja -C "$dir" -k 0 "${targets[@]}" >"$dir/tsa.log" 2>&1; then
    echo "tsa: ${#targets[@]} objects compiled cleanly with $CLANG -Wthread-safety"
else
    grep -E 'error:|warning:' "$dir/tsa.log" | head -n 30
    die "thread-safety analysis failed ($dir/tsa.log)"
fi
