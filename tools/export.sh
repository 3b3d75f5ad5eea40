#!/bin/bash
# Regenerate patches/ from build/qemu: git format-patch with a cover letter
# and a series file, for each series of the queue: base..series into
# patches/ (the fix) and series..ccache into patches/ccache/ (the
# compressed write cache, on top of it).  The output is stable: an
# unchanged commit exports byte-identical (no base-commit line, fixed
# signature, no dates depending on the time of export), so `git diff
# patches/` shows only real changes.
. "$(dirname "$0")/common.sh"

[ -e "$TREE/.git" ] || die "no tree at $TREE"
if [ -n "$(git -C "$TREE" status --porcelain --untracked-files=no)" ]; then
    log "warning: $TREE has uncommitted changes, which are not exported"
fi

# export_series TREE FROM TO PATCHES OUT: FROM..TO of TREE into OUT, with
# the cover letter text and subject prefix of PATCHES
export_series() {
    local tree=$1 from=$2 to=$3 patches=$4 out=$5
    local n tmp cover prefix cc date
    n=$(git -C "$tree" rev-list --count "$from..$to")
    [ "$n" -gt 0 ] || die "no commits in $from..$to"

    tmp=$(mktemp -d)
    # The cover letter's text is kept in cover-letter.txt: the first line
    # is the subject, the rest the body.  format-patch fills in the
    # shortlog and diffstat.
    cover=$patches/cover-letter.txt
    # The subject prefix ("PATCH v2") is kept in subject-prefix, so that
    # each series has its own version.
    prefix=PATCH
    if [ -f "$patches/subject-prefix" ]; then
        prefix=$(cat "$patches/subject-prefix")
    fi
    # The cover letter is "from" the author of the newest commit, not from
    # whoever runs the export, so that the export does not depend on the
    # machine's git configuration.
    git -C "$tree" -c core.abbrev=12 -c diff.algorithm=histogram \
        -c user.name="$(git -C "$tree" log -1 --format=%an "$to")" \
        -c user.email="$(git -C "$tree" log -1 --format=%ae "$to")" \
        format-patch -q --cover-letter --no-signature --zero-commit \
        --subject-prefix="$prefix" -o "$tmp" "$from..$to"
    # Recipients, as scripts/get_maintainer.pl finds them for the series.
    cc=$(cd "$tree" && ./scripts/get_maintainer.pl --no-rolestats --no-git \
            --no-git-fallback "$tmp"/0*.patch 2>/dev/null |
         grep -v '^qemu-devel@nongnu.org$' | sort -u | paste -sd, - || true)
    "$PY" - "$tmp"/0000-cover-letter.patch "$cover" "$cc" <<'PYEOF'
import os
import sys
path, cover, cc = sys.argv[1:4]
text = open(path).read()
if os.path.exists(cover):
    subject, body = open(cover).read().split('\n', 1)
    text = text.replace('*** SUBJECT HERE ***', subject, 1)
    text = text.replace('*** BLURB HERE ***', body.strip('\n'), 1)
head, sep, rest = text.partition('\nSubject: ')
rcpt = '\nTo: qemu-devel@nongnu.org'
if cc:
    rcpt += '\nCc: ' + ',\n    '.join(cc.split(','))
text = head + rcpt + sep + rest
open(path, 'w').write(text)
PYEOF
    # The cover letter's date is the time of export; pin it to the newest
    # commit's date so that re-exporting an unchanged series is a no-op.
    date=$(git -C "$tree" log -1 --format=%aD "$to")
    sed -i "s/^Date: .*/Date: $date/" "$tmp"/0000-cover-letter.patch

    mkdir -p "$out"
    rm -f "$out"/*.patch
    cp "$tmp"/*.patch "$out"/
    (cd "$out" && ls [0-9]*.patch | grep -v '^0000-cover-letter' > series)
    rm -rf "$tmp"
    log "exported $n patches to $out"
}

# QS_EXPORT_DIR exports elsewhere, e.g. to compare with patches/
out=${QS_EXPORT_DIR:-$PATCHES}
if [ -n "${QS_TREE:-}" ]; then
    # Another series on the base alone (tools/harden.sh: a git worktree,
    # whose .git is a file), from its own tree into its own directory
    export_series "$QS_TREE" base HEAD "${QS_PATCHES:?}" \
        "${QS_EXPORT_DIR:-$QS_PATCHES}"
    exit 0
fi
export_series "$TREE" base series "$PATCHES" "$out"
if git -C "$TREE" rev-parse -q --verify ccache >/dev/null; then
    export_series "$TREE" series ccache "$CCACHE_PATCHES" "$out/ccache"
fi
