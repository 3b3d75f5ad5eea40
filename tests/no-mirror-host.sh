#!/bin/bash
# The mirror is derived from the machine's apt configuration at run time:
# no file of this repository names a package mirror's host.
. "$(dirname "$0")/../tools/common.sh"

cd "$TOP"
# Built from pieces, so that this file does not match itself.
pat="(deb|ftp|security|snapshot)[.]debian[.]org|archive[.]ubuntu|mirrors?[.][a-z0-9-]+[.][a-z]+"
if git ls-files -z | xargs -0 grep -nE "$pat" -- 2>/dev/null; then
    echo "a mirror host is named above" >&2
    exit 1
fi
