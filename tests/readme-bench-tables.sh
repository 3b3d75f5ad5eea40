#!/bin/bash
# The benchmark tables in README.md are the ones of docs/benchmarks.md:
# tools/bench.py readme, run on copies of both, must change nothing.  It
# also checks that the splice works: markers replaced, text around them
# kept.
. "$(dirname "$0")/../tools/common.sh"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp "$TOP/README.md" "$tmp/README.md"
"$TOP/tools/bench.py" readme "$TOP/docs/benchmarks.md" "$tmp/README.md" >/dev/null ||
    die "tools/bench.py readme failed"
if ! diff -u "$TOP/README.md" "$tmp/README.md"; then
    echo "README.md's benchmark tables differ from docs/benchmarks.md:" \
        "run tools/bench.py readme" >&2
    exit 1
fi

# A README with stale tables gets the new ones, and keeps the rest
printf 'before\n%s\nstale\n%s\nafter\n' \
    '<!-- bench-tables: copied from docs/benchmarks.md by tools/bench.py readme; do not edit -->' \
    '<!-- end of bench-tables -->' > "$tmp/R2.md"
"$TOP/tools/bench.py" readme "$TOP/docs/benchmarks.md" "$tmp/R2.md" >/dev/null ||
    die "tools/bench.py readme failed on a small README"
head -n 1 "$tmp/R2.md" | grep -qx before || die "text before the markers lost"
tail -n 1 "$tmp/R2.md" | grep -qx after || die "text after the markers lost"
! grep -qx stale "$tmp/R2.md" || die "the stale tables were kept"
grep -q '^| 4K scattered rewrite, QD1, aio=threads' "$tmp/R2.md" ||
    die "no wall-clock table copied"
grep -q '^| 4K scattered read, QD1, aio=io_uring |' "$tmp/R2.md" ||
    die "no callgrind table copied"

# Without markers, the README is left alone and the script fails
echo "no markers" > "$tmp/R3.md"
if "$TOP/tools/bench.py" readme "$TOP/docs/benchmarks.md" "$tmp/R3.md" >/dev/null 2>&1; then
    die "tools/bench.py readme accepted a README without markers"
fi
grep -qx "no markers" "$tmp/R3.md" || die "a README without markers was changed"
echo "README.md's benchmark tables match docs/benchmarks.md"
