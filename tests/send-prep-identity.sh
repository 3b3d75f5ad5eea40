#!/bin/bash
# tools/send-prep.sh (make send-prep) refuses a placeholder identity, and
# with a real one produces patches whose From: and Signed-off-by: carry
# that identity and nothing of the placeholder, keeping the other trailers.
# The identity comes from a temporary HOME's git configuration; the
# GIT_CONFIG_* variables repeat it because they outrank a user.name/email
# in this clone's own .git/config, which a HOME cannot.
. "$(dirname "$0")/../tools/common.sh"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "send-prep-identity: $*" >&2; exit 1; }

# As the user, with only what this test sets: a temporary HOME, no system
# configuration, and the identity also given as command-line-level config.
as() { # NAME EMAIL OUTDIR [SERIES_DIR] -> runs send-prep.sh
    local name=$1 email=$2 out=$3
    shift 3
    mkdir -p "$tmp/home"
    printf '[user]\n\tname = %s\n\temail = %s\n' "$name" "$email" \
        > "$tmp/home/.gitconfig"
    env -u GIT_AUTHOR_NAME -u GIT_AUTHOR_EMAIL -u GIT_COMMITTER_NAME \
        -u GIT_COMMITTER_EMAIL -u EMAIL \
        HOME="$tmp/home" XDG_CONFIG_HOME="$tmp/home/.config" \
        GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL="$tmp/home/.gitconfig" \
        GIT_CONFIG_COUNT=2 GIT_CONFIG_KEY_0=user.name GIT_CONFIG_VALUE_0="$name" \
        GIT_CONFIG_KEY_1=user.email GIT_CONFIG_VALUE_1="$email" \
        OUT="$out" "$TOP/tools/send-prep.sh" "$@"
}

# A small series of two patches of patches/, with extra trailers and a
# second, real author, so that what must be kept is tested too.
mapfile -t first < <(grep -v '^#' "$PATCHES/series" | grep . | head -n 2)
[ "${#first[@]}" = 2 ] || fail "patches/series has fewer than two patches"
src=$tmp/series
mkdir -p "$src"
cp "$PATCHES/0000-cover-letter.patch" "$src/"
cp "$PATCHES/${first[0]}" "$PATCHES/${first[1]}" "$src/"
printf '%s\n' "${first[@]}" > "$src/series"
# Patch 1: trailers around the placeholder's Signed-off-by.
sed -i '0,/^Signed-off-by: /s//Reported-by: Ann Reporter <ann@reporter.net>\nFixes: 585f8587ad36 ("new qcow2 disk image format")\nCc: qemu-stable@nongnu.org\n&/' \
    "$src/${first[0]}"
# Patch 2: written by someone else, signed off by them and the placeholder.
sed -i -e '0,/^From: .*/s//From: Bob Author <bob@author.org>/' \
       -e '0,/^Signed-off-by: /s//Signed-off-by: Bob Author <bob@author.org>\n&/' \
    "$src/${first[1]}"

# 1. Placeholder identities are refused, and nothing is written.
for id in "Block Layer Team|block-team@example.org" \
          "qcow2 series tooling|tooling@localhost" \
          "Real Name|someone@example.com" \
          "Real Name|dev@build.test" \
          "Block Layer Team|real@person.net" \
          "|real@person.net"; do
    if out=$(as "${id%%|*}" "${id#*|}" "$tmp/out-refused" "$src" 2>&1); then
        fail "accepted the placeholder identity '$id'"
    fi
    grep -q "refusing to prepare patches\|no git identity" <<<"$out" ||
        fail "no clear message for '$id': $out"
    [ ! -e "$tmp/out-refused" ] || fail "wrote patches for '$id'"
done

# 2. A real identity: every From: and Signed-off-by: of the placeholder
# now names it, other authors and trailers are kept, checkpatch passes.
name="Tess T. Sender" email="tess@sender-test.net"
out=$(as "$name" "$email" "$tmp/out" "$src" 2>&1) ||
    fail "refused a real identity: $out"
grep -q "git send-email .*--to-cover --cc-cover" <<<"$out" ||
    fail "no git send-email command printed: $out"
for f in 0000-cover-letter.patch "${first[@]}"; do
    [ -f "$tmp/out/$f" ] || fail "$f not written"
    if grep -nE 'Block Layer Team|example\.org|@localhost|series tooling' "$tmp/out/$f"; then
        fail "$f still names the placeholder"
    fi
done
p1=$tmp/out/${first[0]} p2=$tmp/out/${first[1]}
c=$tmp/out/0000-cover-letter.patch
grep -qx "From: $name <$email>" "$c" || fail "cover letter: From: is not the sender"
grep -qx "$name ([0-9]*):" "$c" || fail "cover letter: the shortlog does not name the sender"
grep -qx "From: $name <$email>" "$p1" || fail "${first[0]}: From: is not the sender"
[ "$(grep -c "^Signed-off-by: $name <$email>$" "$p1")" = 1 ] ||
    fail "${first[0]}: not exactly one Signed-off-by of the sender"
for t in "Reported-by: Ann Reporter <ann@reporter.net>" \
         'Fixes: 585f8587ad36 ("new qcow2 disk image format")' \
         "Cc: qemu-stable@nongnu.org"; do
    grep -qxF "$t" "$p1" || fail "${first[0]}: lost '$t'"
done
grep -qx "From: Bob Author <bob@author.org>" "$p2" || fail "${first[1]}: the other author was replaced"
grep -qx "Signed-off-by: Bob Author <bob@author.org>" "$p2" || fail "${first[1]}: lost the author's Signed-off-by"
grep -qx "Signed-off-by: $name <$email>" "$p2" || fail "${first[1]}: no Signed-off-by of the sender"
# Only those lines differ from the input.
diff "$src/${first[0]}" "$p1" | grep '^[<>]' | grep -vE "^[<>] (From|Signed-off-by): " &&
    fail "${first[0]}: more than the identity changed"
diff "$src/${first[1]}" "$p2" | grep '^[<>]' | grep -vE "^[<>] Signed-off-by: " &&
    fail "${first[1]}: more than the Signed-off-by changed"
exit 0
