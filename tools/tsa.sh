#!/bin/bash
# Compile the qcow2 driver (and the series' unit tests) of build/qemu with
# clang and QEMU's thread-safety analysis (-Wthread-safety, enabled by
# meson.build for a clang that supports it), warnings as errors: checks
# the coroutine_fn/GRAPH_RDLOCK annotations of the series.
. "$(dirname "$0")/common.sh"

CLANG=${CLANG:-clang-19}
dir=$BUILD/clang
command -v "$CLANG" >/dev/null || die "$CLANG missing: run tools/deps.sh"
opts=(--cc="$CLANG" --python="$PY" --disable-system --disable-user
      --enable-tools --disable-rust --disable-download --disable-docs
      --disable-install-blobs)
if [ "$(cat "$dir/.qs-opts" 2>/dev/null)" != "${opts[*]}" ]; then
    rm -rf "$dir"
    mkdir -p "$dir"
    log "configuring $dir"
    (cd "$dir" && "$TREE/configure" "${opts[@]}" >configure.log 2>&1) ||
        { tail -n 20 "$dir/configure.log"; die "configure failed"; }
    echo "${opts[*]}" > "$dir/.qs-opts"
fi
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
