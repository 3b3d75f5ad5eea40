#!/bin/bash
# The hardening series (patches/harden/): qcow2 fixes so that no crafted or
# corrupted image crashes qemu-img, qemu-nbd or a VM.  Independent of the
# series in patches/: it applies to the base alone.
#
#   harden.sh tree        create build/harden, a git worktree of build/qemu
#                         on branch "harden" (tag base + patches/harden/);
#                         an existing branch or worktree is left alone
#   harden.sh build       build the tools in build/harden-build
#   harden.sh export      regenerate patches/harden/ from branch "harden"
#   harden.sh test [DIR]  run the series' iotests against DIR
#                         (default build/harden-build)
#   harden.sh checkpatch  scripts/checkpatch.pl on every patch
#   harden.sh fail-on-stock [DIR]  run the series' iotests with the tools of
#                         DIR (default build/stock): each must fail, and
#                         the crash it shows is printed
. "$(dirname "$0")/common.sh"

HTREE=$BUILD/harden
HBUILD=$BUILD/harden-build
HPATCHES=$PATCHES/harden
GIT_ID=(-c user.name="qcow2 series tooling" -c user.email="tooling@localhost")

tree() {
    [ -d "$TREE/.git" ] || "$TOP/tools/tree.sh"
    if [ -e "$HTREE/.git" ]; then
        return 0
    fi
    git -C "$TREE" worktree prune
    if git -C "$TREE" rev-parse -q --verify refs/heads/harden >/dev/null; then
        git -C "$TREE" worktree add -q "$HTREE" harden
        return 0
    fi
    git -C "$TREE" worktree add -q -b harden "$HTREE" base
    if [ -s "$HPATCHES/series" ]; then
        log "applying $(grep -cv '^#' "$HPATCHES/series") patches to $HTREE"
        # shellcheck disable=SC2046
        (cd "$HTREE" && git "${GIT_ID[@]}" am -q --keep-cr \
            $(grep -v '^#' "$HPATCHES/series" | sed "s|^|$HPATCHES/|"))
    fi
}

case ${1:-} in
tree) tree ;;
build)
    tree
    "$TOP/tools/build.sh" dir "$HTREE" "$HBUILD"
    ;;
export)
    [ -e "$HTREE/.git" ] || die "no tree at $HTREE: run $0 tree"
    QS_TREE=$HTREE QS_PATCHES=$HPATCHES "$TOP/tools/export.sh"
    ;;
test)
    dir=${2:-$HBUILD}
    [ -x "$dir/qemu-io" ] || die "no build in $dir: run $0 build"
    "$TOP/tools/series-iotests.sh" run "$dir" "$HTREE"
    ;;
checkpatch)
    [ -e "$HTREE/.git" ] || die "no tree at $HTREE: run $0 tree"
    fail=0; n=0
    while read -r p; do
        case $p in ''|'#'*) continue ;; esac
        n=$((n + 1))
        if out=$(cd "$HTREE" && perl scripts/checkpatch.pl -q "$HPATCHES/$p" 2>&1); then
            echo "ok   $p"
        else
            echo "FAIL $p"; echo "$out" | sed 's/^/     /'
            fail=$((fail + 1))
        fi
    done < "$HPATCHES/series"
    echo "checkpatch: $((n - fail)) passed, $fail failed"
    [ "$fail" = 0 ]
    ;;
fail-on-stock)
    dir=${2:-$STOCK}
    [ -x "$dir/qemu-io" ] || die "no build in $dir"
    [ -x "$HBUILD/qemu-io" ] || die "no build in $HBUILD: run $0 build"
    # ./check of the hardened build finds the tests; the tools are stock's
    export QEMU_IO_PROG=$dir/qemu-io QEMU_IMG_PROG=$dir/qemu-img \
           QEMU_NBD_PROG=$dir/qemu-nbd
    export QEMU_PROG=${QEMU_PROG:-$PATCHED/qemu-system-x86_64}
    pass=0; fail=0
    for t in $("$TOP/tools/series-iotests.sh" list "$HTREE"); do
        out=$(cd "$HBUILD/tests/qemu-iotests" && ./check -qcow2 "$t" 2>&1) || true
        bad=$HBUILD/tests/qemu-iotests/scratch/qcow2-file-$t/$t.out.bad
        why=$(grep -h -m1 -o 'Segmentation fault\|Assertion .* failed\|Aborted' \
              "$bad" 2>/dev/null || true)
        if grep -q '^Failures:' <<<"$out" && [ -n "$why" ]; then
            echo "ok   $t fails on stock: $why"; pass=$((pass + 1))
        else
            echo "FAIL $t does not crash on stock"; fail=$((fail + 1))
        fi
    done
    echo "fail on stock: $pass passed, $fail failed"
    [ "$fail" = 0 ]
    ;;
*) sed -n '2,16p' "$0" >&2; exit 2 ;;
esac
