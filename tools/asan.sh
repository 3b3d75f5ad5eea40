#!/bin/bash
# The tools the iotests use (qemu-img, qemu-io, qemu-nbd,
# qemu-storage-daemon) built with clang, AddressSanitizer and
# UndefinedBehaviorSanitizer (--enable-asan --enable-ubsan), once for the
# series and once for stock, and run under the sanitizers:
#   series      the iotests that the series adds (group auto)
#   check-block the qcow2 iotests of `make check-block` (group auto)
#   stress      the stress test's short mode (tools/stress.sh)
# Every sanitizer report is collected, attributed to the base (stock has
# it too) or to the series (only the series has it), and summarized.
# Exits non-zero when the series has a report that stock does not have,
# when a series iotest fails on the series build, or when a check-block
# test or a stress run passes on stock and fails on the series.
#
#   tools/asan.sh            build both, run everything (docs/reliability.md §7)
#   tools/asan.sh build      only build both
#   tools/asan.sh summary    only collect and summarize build/asan-run again
#                            (e.g. after a run was cut short)
#   tools/asan.sh --mutate   self-test: inject a heap overflow into the
#                            series' snapshot, run the series iotests on it
#                            and expect a series report (the next normal
#                            run rebuilds the snapshot without it)
#   ASAN_QUICK=1             only the series iotests
#   ASAN_GROUPS="series stress check-block"   the groups to run
#   ASAN_BUILDS="series stock"                the builds to test
#   ASAN_TESTS="040 041"     only these tests (check-block and series)
#   ASAN_TIMEOUT=1800        seconds per iotest
#   ASAN_KEEP=1              keep the other build's pass in build/asan-run
#                            (run series and stock one after the other)
#
# Layout (ignored by git): build/asan-src and build/asan-stock-src are git
# worktrees of build/qemu, detached at build/qemu's HEAD and at
# build/stock-src's HEAD (the base plus the series' qemu-io commits), so
# that concurrent edits of build/qemu do not change what is built;
# build/asan-series and build/asan-stock are the build dirs;
# build/asan-run/ holds the outputs, the sanitizers' logs and summary.txt.
. "$(dirname "$0")/common.sh"

CLANG=${CLANG:-clang-19}
SYMBOLIZER=/usr/lib/llvm-19/bin/llvm-symbolizer
SRC_SERIES=$BUILD/asan-src
SRC_STOCK=$BUILD/asan-stock-src
# The stock build dir's name must contain "stock": tools/stress.sh then
# holds back the requests that the base does not handle.
DIR_SERIES=$BUILD/asan-series
DIR_STOCK=$BUILD/asan-stock
RUN=$(realpath -m "${ASAN_RUN:-$BUILD/asan-run}")  # ./check runs in the tests dir
TIMEOUT=${ASAN_TIMEOUT:-1800}

action=all
mutate=0
case ${1:-} in
    "") ;;
    build) action=build ;;
    summary) action=summary ;;
    --mutate) mutate=1; ASAN_QUICK=1; ASAN_BUILDS=series; RUN=$BUILD/asan-run-mutate ;;
    -h|--help) sed -n '2,32p' "$0"; exit 0 ;;
    *) die "usage: asan.sh [build|summary|--mutate]" ;;
esac
if [ "${ASAN_QUICK:-0}" = 1 ]; then
    groups=${ASAN_GROUPS:-series}
else
    # the quick groups first: a run cut short still has them
    groups=${ASAN_GROUPS:-series stress check-block}
fi
builds=${ASAN_BUILDS:-series stock}

# snapshot DIR COMMIT: a detached worktree of $TREE at COMMIT (created, or
# moved there, discarding whatever was changed in it)
snapshot() {
    local dir=$1 commit=$2
    if [ ! -e "$dir/.git" ]; then
        git -C "$TREE" worktree prune
        git -C "$TREE" worktree add -q --detach "$dir" "$commit"
    else
        git -C "$dir" checkout -q -f --detach "$commit"
        git -C "$dir" clean -q -fdx
    fi
    [ "$(git -C "$dir" rev-parse HEAD)" = "$commit" ] || die "$dir is not at $commit"
}

series_commit=$(git -C "$TREE" rev-parse HEAD)
stock_commit=$(git -C "$STOCK_SRC" rev-parse HEAD)
# stock must be the base plus only commits that touch qemu-io-cmds.c
stray=$(git -C "$TREE" diff --name-only base "$stock_commit" | grep -vx 'qemu-io-cmds.c' || true)
[ -z "$stray" ] || die "$STOCK_SRC ($stock_commit) changes more than qemu-io: $stray"

build_one() { # SRC DIR
    local src=$1 dir=$2
    # clang_configure configures from $TREE: point it at the snapshot.
    # A tools-only build does not look for a crypto library unless told
    # to, and the iotests' LUKS cases need one (as build.sh dir does).
    TREE=$src clang_configure "$dir" --enable-asan --enable-ubsan --enable-gnutls
    log "building $dir from $src ($(git -C "$src" log -1 --format='%h %s'))"
    local t0=$SECONDS
    ninja -C "$dir" -j "$JOBS" qemu-img qemu-io qemu-nbd \
        storage-daemon/qemu-storage-daemon >"$dir/ninja.log" 2>&1 ||
        { grep -E 'error' -A5 "$dir/ninja.log" | head -n 30; die "build failed ($dir/ninja.log)"; }
    log "built $dir in $(( (SECONDS - t0) / 60 )) min $(( (SECONDS - t0) % 60 )) s"
}

stress_results() { # STRESS-OUTPUT: one result line per run
    grep -E '^(PASS|FAIL) seed=' "$1" | awk '{
            r = ($1 == "FAIL") ? "fail" : "pass"
            print "stress run" ++n "-" $2 " " r }'
    grep -q '^[0-9]* passed, [0-9]* failed$' "$1" || echo "stress incomplete fail"
}

if [ "$action" != summary ]; then
snapshot "$SRC_SERIES" "$series_commit"
case " $builds " in *" stock "*) snapshot "$SRC_STOCK" "$stock_commit" ;; esac
if [ "$mutate" = 1 ]; then
    # One line: a heap overflow in qcow2_do_open(), which every iotest
    # reaches (the sanitizer must report it, attributed to the series).
    sed -i '0,/^    ret = bdrv_co_pread(bs->file, 0, sizeof(header), &header, 0);/s//    ((volatile char *)g_malloc0(8))[8] = 1; \/* asan.sh --mutate *\/\n&/' \
        "$SRC_SERIES/block/qcow2.c"
    grep -q 'asan.sh --mutate' "$SRC_SERIES/block/qcow2.c" || die "mutation not applied"
    log "mutation: $(git -C "$SRC_SERIES" diff | grep '^+ ')"
fi
bstart=$SECONDS
for b in $builds; do
    case $b in
        series) build_one "$SRC_SERIES" "$DIR_SERIES" ;;
        stock) build_one "$SRC_STOCK" "$DIR_STOCK" ;;
        *) die "unknown build $b" ;;
    esac
done
build_min=$(( (SECONDS - bstart + 30) / 60 ))
[ "$action" = build ] && exit 0

if [ "${ASAN_KEEP:-0}" = 1 ]; then
    # add (or redo) these builds' passes next to those already in $RUN
    for b in $builds; do rm -rf "${RUN:?}/$b" "$RUN/$b.log"; done
else
    rm -rf "$RUN"
fi
mkdir -p "$RUN/stub"
{
    echo "series $(git -C "$SRC_SERIES" rev-parse HEAD) $(git -C "$SRC_SERIES" log -1 --format=%s)"
    echo "stock $stock_commit $(git -C "$SRC_STOCK" log -1 --format=%s)"
    echo "compiler $("$CLANG" --version | head -n 1)"
    echo "date $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "build_minutes $build_min"
    [ "$mutate" = 0 ] || echo "mutation $(git -C "$SRC_SERIES" diff | grep '^+ ' | sed 's/^+ *//')"
} >> "$RUN/info"

# ./check insists on a system emulator even for tests that start no VM,
# and none is built here: a stub answers the questions that ./check and
# the iotests ask it before they start a VM (-machine help, -device help,
# -drive format=help) and fails anything else, noting the call, so that a test that needs a VM is
# reported as such (not as a failure).
# The python iotests also ask it for its block drivers (-drive format=help),
# which are those of the tools.
b1=${builds%% *}
[ "$b1" = series ] && bdir=$DIR_SERIES || bdir=$DIR_STOCK
formats=$("$bdir/qemu-img" --help 2>&1 |
          sed -n '/^Supported image formats:/,/^See /{/^  /p}' |
          tr -s ' \n' ' ' | sed 's/^ //; s/ $//')
[ -n "$formats" ] || die "cannot list the block drivers of $bdir/qemu-img"
cat > "$RUN/stub/qemu-system-x86_64.new" <<EOF
#!/bin/sh
case "\$*" in
*"-machine help")
    echo "Supported machines are:"
    echo "pc-i440fx-10.2       Standard PC (i440FX + PIIX, 1996) (default)"
    exit 0 ;;
*"-device help")
    # the python iotests skip themselves without virtio-blk
    echo 'name "virtio-blk-pci", bus PCI, alias "virtio-blk"'
    echo 'name "virtio-scsi-pci", bus PCI, alias "virtio-scsi"'
    exit 0 ;;
*"-drive format=help")
    echo "Supported formats: $formats"
    echo "Supported formats (read-only): $formats"
    exit 0 ;;
esac
[ -z "\$ASAN_STUB_LOG" ] || echo "\$*" >> "\$ASAN_STUB_LOG"
echo "qemu-system-x86_64 is not built by tools/asan.sh (stub)" >&2
exit 1
EOF
chmod +x "$RUN/stub/qemu-system-x86_64.new"
mv "$RUN/stub/qemu-system-x86_64.new" "$RUN/stub/qemu-system-x86_64"

# The sanitizers write every report to a file of their own (log_path:
# <dir>/san.<program>.<pid>) instead of stderr, which many tests filter or
# discard, so that none is lost; the summary reads those files.
#  - ASan: halt_on_error (its default, an ASan error is fatal) with exit
#    status 1; abort_on_error=0 (no core dumps).
#  - UBSan: halt_on_error=1 and print_stacktrace=1: the first undefined
#    behaviour stops the program (exit status 1), with its stack.
#  - LeakSanitizer: on (detect_leaks=1), and a leak makes the process exit
#    with status 1 like any other report (in an ASan build LSan has no
#    exit status of its own: LSAN_OPTIONS=exitcode is ignored, and
#    ASan's exitcode=0 would also let ASan errors pass).  QEMU's own
#    iotests runner turns leak detection off (detect_leaks=0); here it is
#    on because the series allocates per image (retired runs, the
#    compressed write cache) and must free it on close.  Measured before
#    the first run: qemu-img create/info/check/convert, qemu-io and
#    qemu-storage-daemon leak nothing on their usual and error paths in
#    10.2.2.  A leak of the base shows on stock too and is attributed to
#    the base; a test it makes fail on both builds is listed as a note.
san_env() { # DIR: env assignments for a process whose reports go to DIR
    local d=$1 common="log_path=$1/san:log_exe_name=1:external_symbolizer_path=$SYMBOLIZER"
    echo "ASAN_OPTIONS=$common:detect_leaks=1:halt_on_error=1:abort_on_error=0:exitcode=1:detect_stack_use_after_return=0:strict_string_checks=0:check_initialization_order=1:print_summary=1"
    echo "UBSAN_OPTIONS=$common:halt_on_error=1:print_stacktrace=1:exitcode=1:print_summary=1"
    echo "ASAN_STUB_LOG=$d/stub-calls"
}

# QEMU's iotests runner (testrunner.py) sets ASAN_OPTIONS itself, to
# detect_leaks=0 and a log file that it deletes when the test passes: the
# iotests run the binaries through wrappers that put back ours.
for b in $builds; do
    [ "$b" = series ] && bdir=$DIR_SERIES || bdir=$DIR_STOCK
    for p in qemu-img qemu-io qemu-nbd storage-daemon/qemu-storage-daemon; do
        mkdir -p "$(dirname "$RUN/wrap/$b/$p")"
        printf '#!/bin/sh\nexport ASAN_OPTIONS="$ASAN_WRAP_OPTIONS"\nexec %s "$@"\n' \
            "$bdir/$p" > "$RUN/wrap/$b/$p.new"
        chmod +x "$RUN/wrap/$b/$p.new"
        mv "$RUN/wrap/$b/$p.new" "$RUN/wrap/$b/$p"
    done
done

# run_iotest BUILD GROUP TEST TESTDIR: one iotest with ./check, from the
# iotests dir TESTDIR (the series' for its own tests, so that stock runs
# them too), with BUILD's binaries; prints "pass", "fail", "skip" or "novm"
run_iotest() {
    local b=$1 g=$2 t=$3 tdir=$4 bdir out rc=0
    bdir=$RUN/wrap/$b
    out=$RUN/$b/$g/${t//\//_}
    mkdir -p "$out"
    # shellcheck disable=SC2046
    (cd "$tdir" && env $(san_env "$out") \
        ASAN_WRAP_OPTIONS="$(san_env "$out" | sed -n 's/^ASAN_OPTIONS=//p')" \
        TEST_DIR="$RUN/$b/scratch" \
        QEMU_PROG="$RUN/stub/qemu-system-x86_64" \
        QEMU_IMG_PROG="$bdir/qemu-img" QEMU_IO_PROG="$bdir/qemu-io" \
        QEMU_NBD_PROG="$bdir/qemu-nbd" \
        QSD_PROG="$bdir/storage-daemon/qemu-storage-daemon" \
        timeout -k 30 "$TIMEOUT" ./check -qcow2 "$t") >"$out/check.out" 2>&1 || rc=$?
    if [ "$rc" = 0 ] && ! grep -q '^Failures:' "$out/check.out"; then
        if grep -qi 'not run' "$out/check.out"; then echo skip; else echo pass; fi
    elif [ -s "$out/stub-calls" ]; then
        echo novm
    else
        [ "$rc" != 124 ] || echo "timeout after $TIMEOUT s" >>"$out/check.out"
        echo fail
    fi
}

# the iotests of a group, for the series' build dir
series_tests() {
    local t
    for t in $("$TOP/tools/series-iotests.sh" list "$SRC_SERIES"); do
        sed -n '2p' "$SRC_SERIES/tests/qemu-iotests/tests/$t" | grep -qw auto &&
            echo "$t"
    done
}
checkblock_tests() {
    # make check-block: ./check -qcow2 -g auto, without the series' own
    # tests (the group "series")
    local own
    own=$(series_tests)
    (cd "$DIR_SERIES/tests/qemu-iotests" && "$PY" ./check -n -qcow2 -g auto) |
        grep -vxF -f <(echo "$own"; echo "#none")
}

run_pass() { # BUILD: every group on one build; results in $RUN/BUILD/results
    local b=$1 g t r res=$RUN/$1/results start
    mkdir -p "$RUN/$b"
    : >"$res"
    for g in $groups; do
        start=$SECONDS
        case $g in
        series|check-block)
            local list
            if [ "$g" = series ]; then list=$(series_tests); else list=$(checkblock_tests); fi
            if [ -n "${ASAN_TESTS:-}" ]; then
                list=$(for t in $list; do
                           for w in $ASAN_TESTS; do [ "$t" != "$w" ] || echo "$t"; done
                       done)
            fi
            for t in $list; do
                # the series' tests always run from the series' tree
                if [ "$g" = series ] || [ "$b" = series ]; then
                    r=$(run_iotest "$b" "$g" "$t" "$DIR_SERIES/tests/qemu-iotests")
                else
                    r=$(run_iotest "$b" "$g" "$t" "$DIR_STOCK/tests/qemu-iotests")
                fi
                echo "$g $t $r" >>"$res"
                log "$b $g $t: $r"
            done ;;
        stress)
            local out=$RUN/$b/stress/stress
            [ "$b" = series ] && bdir=$DIR_SERIES || bdir=$DIR_STOCK
            mkdir -p "$out"
            # shellcheck disable=SC2046
            env $(san_env "$out") "$TOP/tools/stress.sh" --build "$bdir" \
                --seed "${ASAN_STRESS_SEED:-20261124}" >"$out/stress.out" 2>&1 || true
            stress_results "$out/stress.out" >>"$res"
            log "$b stress: $(tail -n 1 "$out/stress.out")" ;;
        *) die "unknown group $g" ;;
        esac
        echo "$g $(( SECONDS - start ))" >>"$RUN/$b/seconds"
    done
}

# Both builds at once (two processes on a 2-core machine); each pass is
# sequential.
tstart=$SECONDS
pids=()
for b in $builds; do
    run_pass "$b" >"$RUN/$b.log" 2>&1 &
    pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || true; done
echo "test_minutes $(( (SECONDS - tstart + 30) / 60 ))" >>"$RUN/info"
else
    # the stress lines again (runs cut short, older runs)
    for b in series stock; do
        [ -f "$RUN/$b/results" ] && [ -f "$RUN/$b/stress/stress/stress.out" ] || continue
        { grep -v '^stress ' "$RUN/$b/results" || true
          stress_results "$RUN/$b/stress/stress/stress.out"; } >"$RUN/$b/results.new"
        mv "$RUN/$b/results.new" "$RUN/$b/results"
    done
fi
# the builds whose pass is in $RUN (with ASAN_KEEP=1, earlier ones too)
present=$(for b in series stock; do [ ! -f "$RUN/$b/results" ] || echo "$b"; done)
builds=$(echo $present)

# Collect, attribute and summarize every report.
rc=0
TOP="$TOP" "$PY" - "$RUN" "$builds" "$mutate" <<'PYEOF' >"$RUN/summary.txt" || rc=$?
import collections, glob, os, re, sys

run, builds, mutate = sys.argv[1], sys.argv[2].split(), sys.argv[3] == '1'
info = dict(l.rstrip('\n').split(' ', 1) for l in open(os.path.join(run, 'info')))

# Frames that say nothing about who made the mistake: the sanitizers'
# runtime, the allocators and glib's allocation wrappers.
SKIP = re.compile(r'^(__interceptor_|__asan_|__ubsan_|__sanitizer_|__lsan_|'
                  r'malloc$|calloc$|realloc$|free$|posix_memalign$|aligned_alloc$|'
                  r'memalign$|valloc$|strdup$|strndup$|operator |'
                  r'g_malloc|g_malloc0|g_realloc|g_try_|g_slice_|g_strdup|'
                  r'g_strndup|g_memdup|g_new|g_strconcat|g_strjoin|g_printf_string|'
                  r'g_vasprintf|g_strdup_vprintf|g_strdup_printf|memcpy$|memmove$|'
                  r'memset$|__memcpy|__memset)')
FRAME = re.compile(r'^\s*#(\d+) 0x[0-9a-f]+ in (\S+)(?: (\S+))?')
SERIES_FILES = ('qcow2-inflight.c', 'qcow2-compressed-cache.c')
# timing-dependent reports of the base (tests/asan/base-timing.txt)
BASE_TIMING = []
with open(os.path.join(os.environ['TOP'], 'tests/asan/base-timing.txt')) as f:
    BASE_TIMING = [l.strip() for l in f if l.strip() and not l.startswith('#')]

def strip(loc):
    loc = loc or '?'
    loc = re.sub(r'^.*/(asan-src|asan-stock-src)/', '', loc)
    return loc

def frames_of(lines):
    out = []
    for l in lines:
        m = FRAME.match(l)
        if m:
            out.append((m.group(2), strip(m.group(3))))
        elif out and not l.strip():
            break
    return out

def signature(kind, frames, n):
    top = [f for f in frames if not SKIP.match(f[0])][:n]
    # function and file, without line numbers: the series moves lines
    return kind + ' | ' + ' < '.join('%s (%s)' % (f, re.sub(r':\d+.*$', '', os.path.basename(l)))
                                     for f, l in top)

def parse(path):
    """Yield (kind, signature, head, frames) for every report in a log file."""
    lines = open(path, errors='replace').read().split('\n')
    i = 0
    while i < len(lines):
        l = lines[i]
        m = re.search(r'ERROR: AddressSanitizer: (\S+)', l)
        u = re.search(r'^(\S+?):\d+:\d+: runtime error: (.*)', l)
        if m:
            body = lines[i + 1:]
            fr = frames_of(body)
            acc = re.search(r'^(READ|WRITE) of size', lines[i + 1] if i + 1 < len(lines) else '')
            kind = 'ASan ' + m.group(1) + (' ' + acc.group(1) if acc else '')
            yield kind, signature(kind, fr, 3), l.split('ERROR: ', 1)[1], fr
        elif u:
            msg = re.sub(r'0x[0-9a-f]+|-?\d+', 'N', u.group(2))
            kind = 'UBSan ' + os.path.basename(u.group(1)) + ': ' + msg
            fr = frames_of(lines[i + 1:])
            yield kind, signature(kind, fr, 3), l.split('runtime error: ', 1)[1], fr
        elif re.match(r'^(Direct|Indirect) leak of', l):
            kind = 'LSan ' + l.split()[0].lower() + ' leak'
            fr = frames_of(lines[i + 1:])
            yield kind, signature(kind, fr, 4), l, fr
        elif 'ERROR: LeakSanitizer' in l and 'detected memory leaks' not in l:
            yield 'LSan error', 'LSan error | ' + l, l, []
        i += 1

reports = collections.OrderedDict()   # signature -> data
results = {}
for b in builds:
    for f in sorted(glob.glob(os.path.join(run, b, '*', '*', 'san.*'))):
        g, t = f.split(os.sep)[-3:-1]
        for kind, sig, head, fr in parse(f):
            r = reports.setdefault(sig, {'kind': kind, 'head': head, 'frames': fr,
                                         'file': f, 'n': collections.Counter(),
                                         'tests': collections.OrderedDict()})
            r['n'][b] += 1
            r['tests'].setdefault(b + ':' + g + '/' + t, 1)
    # a report printed into a test's output (not to its log file)
    for f in sorted(glob.glob(os.path.join(run, b, '*', '*', '*.out'))):
        txt = open(f, errors='replace').read()
        for pat in ('ERROR: AddressSanitizer', 'runtime error:', 'LeakSanitizer'):
            if pat in txt:
                g, t = f.split(os.sep)[-3:-1]
                sig = 'in output | %s | %s/%s' % (pat, g, t)
                r = reports.setdefault(sig, {'kind': 'in output: ' + pat, 'head': f,
                                             'frames': [], 'file': f,
                                             'n': collections.Counter(),
                                             'tests': collections.OrderedDict()})
                r['n'][b] += 1
                r['tests'].setdefault(b + ':' + g + '/' + t, 1)
    res = os.path.join(run, b, 'results')
    results[b] = {}
    if os.path.exists(res):
        for l in open(res):
            g, t, r = l.split()
            results[b][(g, t)] = r

print('ASan+UBSan run: %s' % info.get('date', '?'))
for k in ('series', 'stock', 'compiler', 'mutation'):
    if k in info:
        print('  %-9s %s' % (k, info[k]))
print('  build: %s min, tests: %s min' % (info.get('build_minutes', '?'),
                                           info.get('test_minutes', '?')))
secs = {}
for b in builds:
    p = os.path.join(run, b, 'seconds')
    if os.path.exists(p):
        for l in open(p):
            g, s = l.split()
            secs[(b, g)] = int(s)
print()
print('%-8s %-12s %5s %5s %5s %5s %5s %6s' % ('build', 'group', 'run', 'pass', 'fail',
                                               'skip', 'novm', 'min'))
groups = []
for b in builds:
    for (g, t) in results[b]:
        if g not in groups:
            groups.append(g)
for g in groups:
    for b in builds:
        c = collections.Counter(r for (gg, t), r in results[b].items() if gg == g)
        print('%-8s %-12s %5d %5d %5d %5d %5d %6.1f' % (
            b, g, sum(c.values()), c['pass'], c['fail'], c['skip'], c['novm'],
            secs.get((b, g), 0) / 60))
print('(novm: needs qemu-system, which is not built here: not run to its end)')

bad = []
print()
print('sanitizer reports: %d distinct' % len(reports))
for sig, r in reports.items():
    on = [b for b in builds if r['n'][b]]
    if 'stock' in on:
        attr = 'base'
    elif any(t in sig for t in BASE_TIMING):
        attr = 'base, timing: tests/asan/base-timing.txt'
    elif 'stock' not in builds:
        attr = 'series? (stock not run)'
    else:
        attr = 'SERIES'
    inseries = any(os.path.basename(l).split(':')[0] in SERIES_FILES for f, l in r['frames'])
    if not attr.startswith('base') and 'series' in on:
        bad.append(sig)
    print()
    print('[%s] %s' % (attr, r['kind']))
    print('  %s' % r['head'][:200])
    print('  count: %s; e.g. %s' % (', '.join('%s %d' % (b, r['n'][b]) for b in builds),
                                    os.path.relpath(r['file'], run)))
    for f, l in r['frames'][:8]:
        print('    %s %s' % (f, l))
    if inseries:
        print('  (a frame is in the series\' own files)')
    tests = list(r['tests'])
    print('  tests: %s%s' % (' '.join(tests[:8]), ' ...' if len(tests) > 8 else ''))

fails = []
s = results.get('series', {})
k = results.get('stock', {})
for (g, t), r in sorted(s.items()):
    if r != 'fail':
        continue
    if g == 'series':
        fails.append('%s %s fails on the series build' % (g, t))
    elif 'stock' not in results:
        fails.append('%s %s fails on the series build (stock not run)' % (g, t))
    elif k.get((g, t)) == 'pass':
        fails.append('%s %s passes on stock and fails on the series' % (g, t))
    else:
        print('note: %s %s fails on both builds (stock: %s)' % (g, t, k.get((g, t))))
for (g, t), r in sorted(k.items()):
    if r == 'fail' and g != 'series' and s.get((g, t)) != 'fail':
        print('note: %s %s fails on stock only' % (g, t))
print()
for f in fails:
    print('FAIL ' + f)
for sig in bad:
    print('FAIL sanitizer report only on the series: ' + sig)
if not fails and not bad:
    print('OK: no sanitizer report of the series, no test that fails on the series only')
sys.exit(1 if fails or bad else 0)
PYEOF
cat "$RUN/summary.txt"
if [ "$mutate" = 1 ]; then
    # the self-test passes when the injected overflow was reported and
    # attributed to the series
    if grep -q '^\[series? (stock not run)\] ASan heap-buffer-overflow WRITE' "$RUN/summary.txt" &&
       grep -A6 'heap-buffer-overflow WRITE' "$RUN/summary.txt" | grep -q qcow2_do_open &&
       [ "$rc" != 0 ]; then
        echo "mutation caught: the injected heap overflow was reported, attributed to the series, and made the run fail"
        exit 0
    fi
    echo "mutation NOT caught ($RUN/summary.txt)"
    exit 1
fi
exit "$rc"
