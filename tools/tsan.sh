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
command -v "$CLANG" >/dev/null || die "$CLANG missing: run tools/deps.sh"
opts=(--cc="$CLANG" --cxx="${CLANG/clang/clang++}" --python="$PY"
      --enable-tsan --disable-system --disable-user --enable-tools
      --disable-rust --disable-download --disable-docs
      --disable-install-blobs)
if [ "$(cat "$dir/.qs-opts" 2>/dev/null)" != "${opts[*]}" ]; then
    rm -rf "$dir"
    mkdir -p "$dir"
    log "configuring $dir"
    (cd "$dir" && "$TREE/configure" "${opts[@]}" >configure.log 2>&1) ||
        { tail -n 20 "$dir/configure.log"; die "configure failed"; }
    echo "${opts[*]}" > "$dir/.qs-opts"
fi

tests=()
for src in $(git -C "$TREE" diff --name-only --diff-filter=A base HEAD -- 'tests/unit/*.c'); do
    tests+=("tests/unit/$(basename "$src" .c)")
done
[ ${#tests[@]} -gt 0 ] || die "the series adds no unit test"
log "building ${tests[*]} in $dir"
ninja -C "$dir" -j "$JOBS" "${tests[@]}" >"$dir/ninja.log" 2>&1 ||
    { grep -E 'error' -A5 "$dir/ninja.log" | head -n 30; die "build failed ($dir/ninja.log)"; }

fail=0
for t in "${tests[@]}"; do
    # QEMU's own TSan suppressions cover known reports of the base
    if TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$TREE/tests/tsan/suppressions.tsan" \
       timeout 1200 "$dir/$t" >"$dir/${t##*/}.log" 2>&1; then
        echo "ok   tsan ${t##*/}"
    else
        echo "FAIL tsan ${t##*/} ($dir/${t##*/}.log)"
        grep -A30 'WARNING: ThreadSanitizer' "$dir/${t##*/}.log" | head -n 40
        fail=1
    fi
done
exit "$fail"
