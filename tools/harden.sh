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
*) sed -n '2,13p' "$0" >&2; exit 2 ;;
esac
