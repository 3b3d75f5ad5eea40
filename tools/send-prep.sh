#!/bin/bash
# Prepare an exported series for sending with the identity of the person
# who runs this (their git identity, as `git var GIT_AUTHOR_IDENT` resolves
# it in this repository: GIT_AUTHOR_NAME/GIT_AUTHOR_EMAIL, then the
# repository's, the global and the system git configuration).
#
#   send-prep.sh [SERIES_DIR]      default: patches/
#
# SERIES_DIR holds `git format-patch` output and a `series` file (the patch
# order); a 0000-cover-letter.patch is taken along when present.  The
# outgoing copies go to build/outgoing/<name of SERIES_DIR>/ (OUT=DIR
# overrides).  In each of them:
#   - a From: header of a placeholder identity becomes the sender's,
#   - Signed-off-by: lines of a placeholder identity become the sender's
#     (once; a patch without the sender's Signed-off-by gets one appended),
#   - the cover letter's shortlog names the sender instead of a placeholder,
# and everything else (other authors, Reported-by:, Fixes:, Cc:, ...) is
# kept.  The result must not name a placeholder identity anywhere, and every
# patch must pass scripts/checkpatch.pl of build/qemu (CHECKPATCH_TREE=DIR
# overrides).  Refuses (exit 1) when the identity is missing or a
# placeholder.  Prints the git send-email command to use.
. "$(dirname "$0")/common.sh"

series_dir=${1:-${SERIES:-$PATCHES}}
case $series_dir in /*) ;; *) series_dir=$TOP/$series_dir ;; esac
series_dir=${series_dir%/}
[ -f "$series_dir/series" ] || die "$series_dir/series is missing: not an exported series"
name=$(basename "$series_dir")
out=${OUT:-$BUILD/outgoing/$name}
cp_tree=${CHECKPATCH_TREE:-$TREE}

# The sender's identity.  user.useConfigOnly: refuse the name and address
# that git would otherwise make up from the login and the host name.
if ! ident=$(git -C "$TOP" -c user.useConfigOnly=true var GIT_AUTHOR_IDENT 2>/dev/null); then
    die "no git identity: set it with
    git config --global user.name 'Your Name'
    git config --global user.email you@your.domain
(or GIT_AUTHOR_NAME and GIT_AUTHOR_EMAIL for one run)"
fi
# "Name <email> timestamp zone"
sender_name=$(sed -n 's/^\(.*\) <[^>]*> [0-9]* [-+][0-9]*$/\1/p' <<<"$ident")
sender_email=$(sed -n 's/^.* <\([^>]*\)> [0-9]* [-+][0-9]*$/\1/p' <<<"$ident")

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mapfile -t patches < <(grep -v '^#' "$series_dir/series" | grep .)
[ "${#patches[@]}" -gt 0 ] || die "$series_dir/series lists no patch"
files=()
[ -f "$series_dir/0000-cover-letter.patch" ] && files+=(0000-cover-letter.patch)
files+=("${patches[@]}")
for f in "${files[@]}"; do
    [ -f "$series_dir/$f" ] || die "$series_dir/$f (listed in series) is missing"
done

# Refuse a placeholder identity, then rewrite; both in one place so that
# what counts as a placeholder is the same for the sender and the patches.
"$PY" - "$sender_name" "$sender_email" "$series_dir" "$tmp" "${files[@]}" <<'PYEOF' || exit 1
import re
import sys
from email.header import Header

name, email, src, dst, files = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]

PLACEHOLDER_NAMES = {'block layer team', 'qcow2 series tooling', 'check-series',
                     'your name', 'root', 'unknown'}
# Reserved for documentation and tests (RFC 2606, RFC 6761) or not a
# reachable mail domain.
PLACEHOLDER_DOMAIN = re.compile(
    r'(^|\.)(example\.(com|net|org)|localhost|localdomain)$'
    r'|\.(example|test|invalid|localhost|local|localdomain|lan|home|internal)$')


def placeholder_reason(n, e):
    n = n.strip()
    e = e.strip().lower()
    if not n:
        return 'the name is empty'
    if not e:
        return 'the e-mail address is empty'
    if n.lower() in PLACEHOLDER_NAMES:
        return 'the name "%s" is a placeholder' % n
    m = re.fullmatch(r'[^@\s<>]+@([a-z0-9.-]+\.[a-z0-9-]+)', e)
    if not m:
        return 'the e-mail address "%s" is not a full address' % e
    if PLACEHOLDER_DOMAIN.search(m.group(1)):
        return 'the domain of "%s" is reserved or local, nobody reads it' % e
    if 'noreply' in e or 'no-reply' in e:
        return 'the address "%s" does not receive mail' % e
    return None


def die(msg):
    print('[send-prep.sh] error: ' + msg, file=sys.stderr)
    sys.exit(1)


why = placeholder_reason(name, email)
if why:
    die('refusing to prepare patches as "%s <%s>": %s.\n'
        'Patches are sent and signed off by a real person: set your identity\n'
        '    git config --global user.name "Your Name"\n'
        '    git config --global user.email you@your.domain\n'
        '(a user.name/user.email in this repository\'s .git/config takes\n'
        'precedence; GIT_AUTHOR_NAME/GIT_AUTHOR_EMAIL do for one run).'
        % (name, email, why))

ADDR = re.compile(r'^(.*?)\s*<([^<>]*)>\s*$')


def is_placeholder(value):
    m = ADDR.match(value.strip())
    if not m:
        return False
    n = m.group(1).strip().strip('"')
    return placeholder_reason(n, m.group(2)) is not None


sender = '%s <%s>' % (name, email)
sob = 'Signed-off-by: ' + sender
try:
    name.encode('ascii')
    from_hdr = 'From: ' + sender
    ascii_name = True
except UnicodeEncodeError:
    from_hdr = 'From: %s <%s>' % (Header(name, 'utf-8').encode(), email)
    ascii_name = False

for f in files:
    text = open('%s/%s' % (src, f), encoding='utf-8').read()
    head, sep, body = text.partition('\n\n')
    if not sep:
        die('%s: no mail header' % f)
    # Unfold the header to find From:, refold nothing (format-patch folds
    # only Subject and long Cc lists).
    lines = head.split('\n')
    out = []
    i = 0
    while i < len(lines):
        line = lines[i]
        j = i + 1
        while j < len(lines) and lines[j][:1] in (' ', '\t'):
            j += 1
        field = '\n'.join(lines[i:j])
        if line.startswith('From: '):
            value = ' '.join(l.strip() for l in lines[i:j])[len('From: '):]
            if is_placeholder(value):
                field = from_hdr
        out.append(field)
        i = j
    head = '\n'.join(out)

    # The commit message ends at the first '---' line (the diffstat);
    # trailers and the shortlog are only rewritten there.
    msg, dash, rest = body.partition('\n---\n')
    if not dash:
        msg, rest = body, ''
    new = []
    have_sob = False
    for line in msg.split('\n'):
        m = re.match(r'^Signed-off-by:\s*(.*)$', line)
        if m:
            if is_placeholder(m.group(1)) or m.group(1).strip() == sender:
                if have_sob:
                    continue        # the sender signs off once
                line = sob
                have_sob = True
        elif f == '0000-cover-letter.patch':
            m = re.match(r'^(.*?) \((\d+)\):$', line)
            if m and is_placeholder('%s <x@example.org>' % m.group(1)):
                line = '%s (%s):' % (name, m.group(2))
        new.append(line)
    if f != '0000-cover-letter.patch' and not have_sob:
        while new and new[-1] == '':
            new.pop()
        last = new[-1] if new else ''
        if not re.match(r'^[A-Za-z-]+: ', last):
            new.append('')
        new.append(sob)
    body = '\n'.join(new) + (('\n---\n' + rest) if dash else '')

    if not ascii_name and 'Content-Type:' not in head:
        head += ('\nMIME-Version: 1.0\nContent-Type: text/plain; charset=UTF-8'
                 '\nContent-Transfer-Encoding: 8bit')
    result = head + '\n\n' + body

    # Nothing of a placeholder identity may be left in the header or the
    # commit message.
    check = head + '\n' + result.partition('\n\n')[2].partition('\n---\n')[0]
    for line in check.split('\n'):
        for m in re.finditer(r'([^:<>]*?)\s*<([^<>@\s]+@[^<>\s]+)>', line):
            if is_placeholder('%s <%s>' % (m.group(1).strip(), m.group(2))):
                die('%s still names the placeholder identity "%s <%s>" '
                    '(in "%s"); fix the series' % (f, m.group(1).strip(),
                                                   m.group(2), line.strip()))
    for n in ('block layer team', 'qcow2 series tooling'):
        if re.search(re.escape(n), check, re.I):
            die('%s still names "%s"; fix the series' % (f, n))
    open('%s/%s' % (dst, f), 'w', encoding='utf-8').write(result)
PYEOF

# checkpatch on every outgoing patch (the cover letter aside).
[ -x "$cp_tree/scripts/checkpatch.pl" ] ||
    die "no scripts/checkpatch.pl in $cp_tree: run make tree (or set CHECKPATCH_TREE)"
fail=0
for p in "${patches[@]}"; do
    if ! res=$(cd "$cp_tree" && perl scripts/checkpatch.pl -q "$tmp/$p" 2>&1); then
        echo "checkpatch FAIL $p"
        echo "$res" | sed 's/^/     /'
        fail=$((fail + 1))
    fi
done
[ "$fail" = 0 ] || die "$fail outgoing patches fail checkpatch; nothing written to $out"

mkdir -p "$out"
rm -f "$out"/*.patch "$out/series"
cp "$tmp"/*.patch "$out"/
printf '%s\n' "${patches[@]}" > "$out/series"
rel=${out#"$TOP"/}
log "${#patches[@]} patches prepared as $sender_name <$sender_email> in $rel (checkpatch: all passed)"

echo
echo "Check, then send (git send-email is in Debian's git-email package):"
echo
# $rel holds exactly the outgoing patches, numbered in series order.
if [ -f "$out/0000-cover-letter.patch" ]; then
    # The cover letter carries To: and Cc:; --to-cover/--cc-cover use them
    # for every patch, and the patches are threaded as replies to it.
    echo "  git send-email --dry-run --to-cover --cc-cover $rel/*.patch"
    echo "  git send-email --to-cover --cc-cover $rel/*.patch"
else
    echo "  git send-email --dry-run --to=qemu-devel@nongnu.org $rel/*.patch"
    echo "  git send-email --to=qemu-devel@nongnu.org $rel/*.patch"
fi
