#!/bin/bash
# Bisectability and upstream applicability of patches/:
#  1. apply the series (patches/, then patches/ccache/) one patch at a
#     time onto the base, and at each step
#     build the tools (ccache keeps this cheap) and run the series' iotests
#     that exist at that step;
#  2. apply the whole series with git am onto the pristine upstream tree
#     (the orig tarball, without Debian's patches), which is what
#     qemu-devel reviewers apply it to.
. "$(dirname "$0")/common.sh"

base=$("$TOP/tools/fetch-base.sh")
work=$BUILD/check-series
rm -rf "$work"
mkdir -p "$work"
GIT_ID=(-c user.name="check-series" -c user.email="check-series@localhost")
# Both series of the queue: the fix, then the compressed write cache
mapfile -t series < <(queue_patches)
# CHECK_SERIES_FROM=N builds and tests only from the Nth patch on (the
# ones before are applied), e.g. 24 for the compressed write cache series
from=${CHECK_SERIES_FROM:-1}
[[ $from =~ ^[1-9][0-9]*$ ]] || die "CHECK_SERIES_FROM must be a patch number"


# 1. One patch at a time.
[ -d "$TREE/.git" ] || die "no tree: run make tree"
git -C "$TREE" worktree prune
git -C "$TREE" worktree add -q --detach "$work/src" base
fail=0
step=0
for p in "${series[@]}"; do
    step=$((step + 1))
    p=${p#"$PATCHES"/}
    log "[$step/${#series[@]}] $p"
    git -C "$work/src" "${GIT_ID[@]}" am -q --keep-cr "$PATCHES/$p" ||
        { echo "FAIL $p: does not apply"; fail=1; break; }
    if [ "$step" -lt "$from" ]; then
        echo "applied $p (not built: CHECK_SERIES_FROM=$from)"
        continue
    fi
    if ! "$TOP/tools/build.sh" dir "$work/src" "$work/build" >"$work/build-$step.log" 2>&1; then
        echo "FAIL $p: does not build"; tail -n 20 "$work/build-$step.log"; fail=1; continue
    fi
    if out=$("$TOP/tools/series-iotests.sh" run "$work/build" "$work/src" 2>&1); then
        echo "ok   $p ($(tail -n 1 <<<"$out"))"
    else
        echo "FAIL $p: iotests"; echo "$out" | sed 's/^/     /'; fail=1
    fi
done
git -C "$TREE" worktree remove --force "$work/src"

# 2. Pristine upstream.
upver=${QEMU_DEB_VERSION#*:}
orig=$QS_CACHE/src/${QEMU_SRC_PACKAGE}_${upver%-*}.orig.tar.xz
mkdir -p "$work/upstream"
tar -xJf "$orig" -C "$work/upstream" --strip-components=1
(
    cd "$work/upstream"
    git init -q
    git add -f -A . && git "${GIT_ID[@]}" commit -q -m upstream
    # shellcheck disable=SC2046
    git "${GIT_ID[@]}" am -q --keep-cr "${series[@]}"
) && echo "ok   the series applies to pristine upstream $upver" ||
    { echo "FAIL the series does not apply to pristine upstream"; fail=1; }
rm -rf "$work/upstream"

[ "$fail" = 0 ] && echo "check-series: OK" || echo "check-series: FAILED"
exit "$fail"
