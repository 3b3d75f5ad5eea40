#!/bin/bash
# Regenerate patches/ from build/qemu: git format-patch base..HEAD with a
# cover letter and a series file.  The output is stable: an unchanged
# commit exports byte-identical (no base-commit line, fixed signature, no
# dates depending on the time of export), so `git diff patches/` shows
# only real changes.
. "$(dirname "$0")/common.sh"
# QS_TREE and QS_PATCHES export another series (tools/harden.sh: a git
# worktree, whose .git is a file) from its own tree into its own directory.
TREE=${QS_TREE:-$TREE}
PATCHES=${QS_PATCHES:-$PATCHES}

[ -e "$TREE/.git" ] || die "no tree at $TREE"
if [ -n "$(git -C "$TREE" status --porcelain --untracked-files=no)" ]; then
    log "warning: $TREE has uncommitted changes, which are not exported"
fi
n=$(git -C "$TREE" rev-list --count base..HEAD)
[ "$n" -gt 0 ] || die "no commits on top of base"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# The cover letter's text is kept in patches/cover-letter.txt: the first
# line is the subject, the rest the body.  format-patch fills in the
# shortlog and diffstat.
cover=$PATCHES/cover-letter.txt
# The subject prefix ("PATCH v2") is kept in patches/subject-prefix, so
# that each series has its own version.
prefix=PATCH
if [ -f "$PATCHES/subject-prefix" ]; then
    prefix=$(cat "$PATCHES/subject-prefix")
fi
# The cover letter is "from" the author of the newest commit, not from
# whoever runs the export, so that the export does not depend on the
# machine's git configuration.
git -C "$TREE" -c core.abbrev=12 -c diff.algorithm=histogram \
    -c user.name="$(git -C "$TREE" log -1 --format=%an)" \
    -c user.email="$(git -C "$TREE" log -1 --format=%ae)" \
    format-patch -q --cover-letter --no-signature --zero-commit \
    --subject-prefix="$prefix" -o "$tmp" base..HEAD
# Recipients, as scripts/get_maintainer.pl finds them for the whole series.
cc=$(cd "$TREE" && ./scripts/get_maintainer.pl --no-rolestats --no-git \
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
date=$(git -C "$TREE" log -1 --format=%aD HEAD)
sed -i "s/^Date: .*/Date: $date/" "$tmp"/0000-cover-letter.patch

# QS_EXPORT_DIR exports elsewhere, e.g. to compare with patches/
out=${QS_EXPORT_DIR:-$PATCHES}
mkdir -p "$out"
rm -f "$out"/*.patch
cp "$tmp"/*.patch "$out"/
(cd "$out" && ls [0-9]*.patch | grep -v '^0000-cover-letter' > series)
log "exported $n patches to $out"
