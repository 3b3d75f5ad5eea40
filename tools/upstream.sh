#!/bin/bash
# Apply patches/ to an upstream QEMU git repository, build the tools there
# and run the series' iotests:
#   upstream.sh UPSTREAM [REF]      (make upstream UPSTREAM=... [UPSTREAM_REF=...])
# UPSTREAM is a qemu.git (bare or with a work tree), REF a commit-ish in it
# (default master).  The given repository is only read: build/upstream-src
# is a clone of it that borrows its objects (git clone --shared), where REF
# is checked out, tagged "base" and the series applied with `git am -3` in
# the order of patches/series, one patch at a time.  A patch that does not
# apply is recorded with its conflicts and skipped.  The tools are built
# tools-only in build/upstream-build (tools/build.sh dir: /usr/bin/python3,
# ccache) and the series' iotests (tools/series-iotests.sh) and unit tests
# run there.
# The report is printed and kept in build/upstream-report.txt; the exit
# status is non-zero unless every patch applied, the build succeeded and
# the iotests passed.
. "$(dirname "$0")/common.sh"

up=${1:-${UPSTREAM:-}}
ref=${2:-${UPSTREAM_REF:-master}}
[ -n "$up" ] || die "usage: upstream.sh PATH_TO_QEMU_GIT [REF]  (make upstream UPSTREAM=...)"
[ -d "$up" ] || die "$up: no such directory"
up=$(cd "$up" && pwd)
gitdir=$(git -C "$up" rev-parse --absolute-git-dir 2>/dev/null) ||
    die "$up is not a git repository"
commit=$(git -C "$up" rev-parse --verify -q "$ref^{commit}") ||
    die "$ref is not a commit in $up"
git -C "$up" cat-file -e "$commit:VERSION" 2>/dev/null &&
    git -C "$up" cat-file -e "$commit:block/qcow2.c" 2>/dev/null ||
    die "$ref in $up is not a QEMU tree (no VERSION or block/qcow2.c)"

src=$BUILD/upstream-src
dir=$BUILD/upstream-build
report=$BUILD/upstream-report.txt
GIT_ID=(-c user.name="upstream.sh" -c user.email="upstream.sh@build.invalid")
mapfile -t series < <(grep -v '^#' "$PATCHES/series" | grep .)
# The series' own files, not those of other series in subdirectories.
pspec=(":(glob)${PATCHES#"$TOP"/}/*.patch" "${PATCHES#"$TOP"/}/series")

# A fresh clone each time (cheap: the objects are borrowed, not copied);
# only the build directory is kept, so that ccache and meson can reuse it.
log "cloning $up ($ref = ${commit:0:12}) into $src"
rm -rf "$src"
git clone -q --shared --no-checkout "$up" "$src"
git -C "$src" checkout -q --detach "$commit"
git -C "$src" tag base

# A git tree lacks the subprojects that a release tarball carries, and
# configure with --disable-download refuses to start without keycodemapdb
# (even for a tools-only build).  Take those whose .wrap (URL and revision)
# is identical in the pinned base's source (read-only) and in upstream;
# they are untracked files of the clone, not part of any commit.
base_src=$("$TOP/tools/fetch-base.sh")
borrowed=()
for wrap in "$src"/subprojects/*.wrap; do
    sub=$(basename "$wrap" .wrap)
    if [ ! -e "$src/subprojects/$sub" ] && [ -d "$base_src/subprojects/$sub" ] &&
       cmp -s "$wrap" "$base_src/subprojects/$sub.wrap"; then
        cp -a "$base_src/subprojects/$sub" "$src/subprojects/$sub"
        borrowed+=("$sub")
    fi
done

{
    echo "upstream: $up"
    echo "ref:      $ref"
    echo "commit:   $(git -C "$src" log -1 --format='%H %cs %s' HEAD)"
    echo "VERSION:  $(cat "$src/VERSION")"
    echo "series:   ${#series[@]} patches from patches/series, repository commit" \
         "$(git -C "$TOP" log -1 --format=%h -- "${pspec[@]}")$(
            [ -z "$(git -C "$TOP" status --porcelain -- "${pspec[@]}")" ] ||
            echo ' + uncommitted changes')"
    echo "subprojects from the base (same .wrap): ${borrowed[*]:-none}"
    echo
} > "$report"

for p in "${series[@]}"; do
    if out=$(cd "$src" && git "${GIT_ID[@]}" am -3 --keep-cr "$PATCHES/$p" 2>&1); then
        if grep -q 'Falling back to patching base and 3-way merge' <<<"$out"; then
            merged=$(sed -n 's/^Auto-merging //p' <<<"$out" | paste -sd' ' -)
            echo "ok   $p (3-way merge${merged:+: $merged})"
        else
            echo "ok   $p"
        fi
    else
        conflicts=$(sed -n 's/^CONFLICT ([^)]*): .* in \(.*\)$/\1/p' <<<"$out" | paste -sd' ' -)
        [ -n "$conflicts" ] ||
            conflicts=$(git -C "$src" diff --name-only --diff-filter=U | paste -sd' ' -)
        echo "FAIL $p: does not apply${conflicts:+ (conflicts: $conflicts)}"
        grep -E '^(error|CONFLICT|Patch failed)' <<<"$out" | head -n 8 | sed 's/^/     /'
        (cd "$src" && git am --skip >/dev/null 2>&1 || git am --abort >/dev/null 2>&1 || true)
    fi
done | tee -a "$report"
applied=$(grep -c '^ok ' "$report" || true)
failed=$(grep -c '^FAIL ' "$report" || true)
echo "applied: $applied of ${#series[@]}, $failed did not apply" | tee -a "$report"

status=0
[ "$failed" = 0 ] || status=1
# Build and test what applied; with patches missing, the result only says
# what it can.
log "building the tools in $dir"
if "$TOP/tools/build.sh" dir "$src" "$dir" > "$BUILD/upstream-build.log" 2>&1; then
    echo "build: ok (qemu-img qemu-io qemu-nbd qemu-storage-daemon)" | tee -a "$report"
    out=$("$TOP/tools/series-iotests.sh" run "$dir" "$src" 2>&1) || status=1
    echo "$out" | tee -a "$report"
    # The unit tests that the series adds (as make test runs them).
    for t in $(git -C "$src" diff --name-only --diff-filter=A base HEAD -- 'tests/unit/*.c'); do
        t=$(basename "$t" .c)
        if ninja -C "$dir" "tests/unit/$t" > "$dir/$t.build.log" 2>&1 &&
           out=$(timeout 600 "$dir/tests/unit/$t" 2>&1); then
            echo "ok   unit test $t"
        else
            echo "FAIL unit test $t"
            { tail -n 20 "$dir/$t.build.log"; echo "${out:-}"; } | tail -n 30 | sed 's/^/     /'
        fi
    done | tee -a "$report"
    ! grep -q '^FAIL unit test' "$report" || status=1
else
    status=1
    {
        echo "build: FAILED (build/upstream-build.log, $dir/configure.log, $dir/ninja.log)"
        tail -n 25 "$BUILD/upstream-build.log" | sed 's/^/     /'
    } | tee -a "$report"
fi
[ "$status" = 0 ] && echo "upstream: OK" | tee -a "$report" ||
    echo "upstream: FAILED" | tee -a "$report"
log "report: ${report#"$TOP"/}"
exit "$status"
