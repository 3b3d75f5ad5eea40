#!/bin/bash
# Create the git tree of the base under build/qemu (tag "base") and apply
# patches/ on top with git am (branch "series"), then patches/ccache/
# (branch "ccache", checked out: the build).  An existing tree is left
# alone: it is where the series is edited, and may hold work not yet
# exported.  Use `make tree-reset` to recreate it from patches/.
. "$(dirname "$0")/common.sh"

GIT_ID=(-c user.name="qcow2 series tooling" -c user.email="tooling@localhost")

if [ "${1:-}" = "--reset" ]; then
    if [ -d "$TREE/.git" ] &&
       [ -n "$(git -C "$TREE" status --porcelain --untracked-files=no)" ]; then
        die "$TREE has uncommitted changes; commit or discard them first"
    fi
    rm -rf "$TREE" "$STOCK_SRC"
fi

if [ ! -d "$TREE/.git" ]; then
    base=$("$TOP/tools/fetch-base.sh")
    log "creating $TREE from $base"
    rm -rf "$TREE.tmp"
    mkdir -p "$BUILD"
    # Debian's packaging (debian/, .pc/) is not part of the tree; its
    # patches are already applied to the sources by dpkg-source.
    (cd "$base" && tar --exclude=./debian --exclude=./.pc -cf - .) |
        (mkdir "$TREE.tmp" && cd "$TREE.tmp" && tar -xf -)
    (
        cd "$TREE.tmp"
        git init -q -b series
        # QEMU's own .gitignore hides a few sources; add everything.
        git add -f -A .
        GIT_COMMITTER_DATE="2000-01-01T00:00:00Z" \
            git "${GIT_ID[@]}" commit -q --date="2000-01-01T00:00:00Z" \
            -m "QEMU $QEMU_DEB_VERSION (Debian source package, patches applied)"
        git tag base
    )
    mv "$TREE.tmp" "$TREE"
    # Commits made in the tree need an identity; keep a configured one.
    git -C "$TREE" config user.name >/dev/null ||
        git -C "$TREE" config user.name "${QS_GIT_NAME:-Block Layer Team}"
    git -C "$TREE" config user.email >/dev/null ||
        git -C "$TREE" config user.email "${QS_GIT_EMAIL:-block-team@example.org}"
    if [ -s "$PATCHES/series" ]; then
        log "applying $(grep -cv '^#' "$PATCHES/series") patches"
        # shellcheck disable=SC2046
        (cd "$TREE" && git "${GIT_ID[@]}" am -q --keep-cr \
            $(grep -v '^#' "$PATCHES/series" | sed "s|^|$PATCHES/|"))
    fi
    # The compressed write cache series, on top, on branch "ccache"
    git -C "$TREE" checkout -q -b ccache
    if [ -s "$CCACHE_PATCHES/series" ]; then
        log "applying $(grep -cv '^#' "$CCACHE_PATCHES/series") patches of the compressed write cache"
        # shellcheck disable=SC2046
        (cd "$TREE" && git "${GIT_ID[@]}" am -q --keep-cr \
            $(grep -v '^#' "$CCACHE_PATCHES/series" | sed "s|^|$CCACHE_PATCHES/|"))
    fi
fi

# The stock tree is the base plus only those commits of the series that
# touch nothing but qemu-io's commands (test tooling such as aio_write -c),
# so that the same tests and demos can drive both builds while stock's
# block layer is exactly the base's.
if [ ! -e "$STOCK_SRC/.git" ]; then
    git -C "$TREE" worktree prune
    git -C "$TREE" worktree add -q --detach "$STOCK_SRC" base
fi
tooling=()
for c in $(git -C "$TREE" rev-list --reverse base..series); do
    if [ "$(git -C "$TREE" diff-tree --no-commit-id --name-only -r "$c")" = qemu-io-cmds.c ]; then
        tooling+=("$c")
    fi
done
want="${tooling[*]}"
if [ "$(cat "$STOCK_SRC/.qs-tooling" 2>/dev/null)" != "$want" ]; then
    git -C "$STOCK_SRC" checkout -q --detach base
    for c in "${tooling[@]}"; do
        git -C "$STOCK_SRC" "${GIT_ID[@]}" cherry-pick "$c" >/dev/null
    done
    echo "$want" > "$STOCK_SRC/.qs-tooling"
fi
