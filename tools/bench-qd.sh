#!/bin/bash
# Instructions per operation against the queue depth: stock vs patched,
# with callgrind, in the same run (issue 13).  Writes docs/benchmarks-qd.md.
#
#   tools/bench-qd.sh                   # full run, about 15-20 minutes
#   BENCH_QD_QUICK=1 tools/bench-qd.sh  # smoke run, small counts
#
# Rows (BENCH_QD_ROWS, a regex of: alloc, small, discard, mix; default
# all):
#   alloc    64K allocating writes (qemu-img bench -w on an empty image)
#            at QD 1, 32, 128, 512 (BENCH_QD_DEPTHS)
#   small    4K scattered rewrite and read at QD1 and QD32 on a fully
#            allocated image (the callgrind rows of tools/bench.sh)
#   discard  Ir per freed cluster of one large discard with N 4K rewrites
#            held in flight by blkdebug, N in 0, 1, 32, 128, 512
#            (BENCH_QD_DISCARD_N)
#   mix      fio (nbd engine, 4K randwrite + 256K randtrim) against
#            qemu-storage-daemon under callgrind, at QD 32 and 128
#            (BENCH_QD_MIX_DEPTHS); its total is not deterministic (fio
#            is another process), only its qcow2 part is
#
# Every cost is marginal: (Ir of a run with N1 operations - Ir of a run
# with N0) / (N1 - N0), so that start-up and exit cancel.  Every
# measurement is repeated BENCH_QD_REPEAT times (default 2), alternating
# which build goes first; the report gives the mean and the spread.
#
# Other environment: BENCH_QD_OUT (default docs/benchmarks-qd.md),
# BENCH_QD_TMP (a tmpfs directory to work in, default /dev/shm),
# BENCH_QD_KEEP (a directory to keep the raw results and the
# callgrind_annotate outputs in), BENCH_QD_REPORT (such a directory: only
# write the report again from it, without measuring).
#
# The binaries of build/stock and build/patched are copied once at the
# start (after waiting until they have not changed for a while), so that a
# rebuild by somebody else during the run cannot mix two builds into one
# table; their SHA-256 is in the report.  Nothing under build/ is modified.
set -euo pipefail
. "$(dirname "$0")/common.sh"

T_START=$SECONDS
QUICK=${BENCH_QD_QUICK:-0}
ROWS=${BENCH_QD_ROWS:-alloc|small|discard|mix}
OUT=${BENCH_QD_OUT:-$TOP/docs/benchmarks-qd.md}
TMPBASE=${BENCH_QD_TMP:-/dev/shm}
REPEAT=${BENCH_QD_REPEAT:-2}
if [ "$QUICK" = 1 ]; then
    DEPTHS=${BENCH_QD_DEPTHS:-1 32 512}
    DISCARD_N=${BENCH_QD_DISCARD_N:-0 1 32}
    REPEAT=${BENCH_QD_REPEAT:-1}
    A_N0=500; A_N1=2500        # 64K allocating writes
    S_N0=200; S_N1=2200        # 4K rewrite/read
    D_K0=512; D_K1=1024        # clusters discarded
    MIX_N0=2000; MIX_N1=6000   # fio writes
    MIX_DEPTHS=${BENCH_QD_MIX_DEPTHS:-32}
    MODE=quick
else
    DEPTHS=${BENCH_QD_DEPTHS:-1 32 128 512}
    DISCARD_N=${BENCH_QD_DISCARD_N:-0 1 32 128 512}
    A_N0=2000; A_N1=10000
    S_N0=1000; S_N1=21000
    D_K0=4096; D_K1=8192
    MIX_N0=4000; MIX_N1=16000
    MIX_DEPTHS=${BENCH_QD_MIX_DEPTHS:-32 128}
    MODE=full
fi
[[ $REPEAT =~ ^[1-9][0-9]*$ ]] || die "BENCH_QD_REPEAT must be a positive integer"

# --- the report -----------------------------------------------------------
# write_report DIR: docs/benchmarks-qd.md (OUT) from the raw results in DIR
# (the work directory, or a BENCH_QD_KEEP copy: BENCH_QD_REPORT=DIR
# tools/bench-qd.sh writes the report again without measuring).
REPORT_VARS=(MODE DATE_START LOAD_START LOAD_END RUNTIME REPEAT A_N0 A_N1 S_N0 S_N1 D_K0 D_K1 MIX_N0 MIX_N1)
write_report() {
    mkdir -p "$(dirname "$OUT")"
    "$PY" - "$1" "$OUT" <<'PYEOF'
import collections, glob, os, platform, re, statistics, subprocess, sys

work, out_f = sys.argv[1:3]
E = os.environ

res = collections.defaultdict(lambda: collections.defaultdict(list))  # (w,d) -> impl -> [(tot,q)]
order = []
for line in open(os.path.join(work, 'results.tsv')):
    if not line.strip():
        continue
    w, d, impl, rep, tot, q = line.rstrip('\n').split('\t')
    if (w, d) not in order:
        order.append((w, d))
    res[(w, d)][impl].append((float(tot), float(q)))
checks = collections.defaultdict(lambda: [0, 0])
for line in open(os.path.join(work, 'checks.tsv')):
    if not line.strip():
        continue
    w, d, impl, rep, what, ok, detail = line.rstrip('\n').split('\t')
    checks[(w, d)][0 if ok == 'ok' else 1] += 1
notes = [l.rstrip('\n') for l in open(os.path.join(work, 'notes.txt')) if l.strip()]
cmds = [l.rstrip('\n') for l in open(os.path.join(work, 'commands.txt')) if l.strip()]
builds = open(os.path.join(work, 'builds.txt')).read().rstrip('\n')

def mean(xs):
    return sum(xs) / len(xs)

def cell(vals):
    m = mean(vals)
    if len(vals) > 1 and max(vals) - min(vals) >= 0.05:
        return '%.1f (%.1f-%.1f)' % (m, min(vals), max(vals))
    return '%.1f' % m

def row_numbers(key):
    s = res[key]['stock']; p = res[key]['patched']
    st = mean([x[0] for x in s]); pt = mean([x[0] for x in p])
    sq = mean([x[1] for x in s]); pq = mean([x[1] for x in p])
    return s, p, st, pt, sq, pq

def status(ok):
    return 'met' if ok else '**missed**'

goal_results = []
L = []
L.append('# Instructions per operation against the queue depth: stock vs patched')
L.append('')
L.append('Generated by `tools/bench-qd.sh` (issue 13); do not edit by hand.  Taken %s '
         '(%s mode), %d repetition(s) of every measurement; the script ran %d min %02d s.'
         % (E['DATE_START'], E['MODE'], int(E['REPEAT']), int(E['RUNTIME']) // 60, int(E['RUNTIME']) % 60))
L.append('')
L.append('Every number is a **marginal** cost counted by callgrind: (Ir of a run with N1 '
         'operations - Ir of a run with N0) / (N1 - N0), start-up and exit cancel out.  '
         'Instruction counts do not depend on the load of the machine (this one is '
         'shared).  "qcow2" columns: the self cost of the functions in `block/qcow2*.c` '
         '(as `tools/bench.sh`), the rest is the block layer, the event loop, blkdebug, '
         'libc.  Delta % is of the stock total.  A cell "m (a-b)" is the mean of the '
         'repetitions and their range, when they differ.')
L.append('')

def table_depth(w, label, unit, dcol, target_pct, goal_name, rows=None, basis='total', flat_skip=()):
    keys = [k for k in order if k[0] == w] if rows is None else rows
    if not keys:
        return
    L.append('| %s | stock %s | patched %s | delta | delta %% | stock qcow2 | patched qcow2 | qcow2 delta | checks | goal: %s |'
             % (dcol, unit, unit, goal_name))
    L.append('|---|---|---|---|---|---|---|---|---|---|')
    dq = []
    for key in keys:
        s, p, st, pt, sq, pq = row_numbers(key)
        pct = 100 * (pt - st) / st
        gpct = pct if basis == 'total' else 100 * (pq - sq) / st
        c = checks.get(key, [0, 0])
        ck = ('%d ok' % c[0]) if not c[1] else ('**%d failed**, %d ok' % (c[1], c[0]))
        if target_pct is None:
            g = '-'
        else:
            ok = gpct <= target_pct
            g = status(ok) if basis == 'total' else '%+.2f%%: %s' % (gpct, status(ok))
            goal_results.append((label, key[1], gpct, target_pct, ok))
        L.append('| %s | %s | %s | %+.1f | %+.2f%% | %s | %s | %+.1f | %s | %s |'
                 % (key[1], cell([x[0] for x in s]), cell([x[0] for x in p]), pt - st, pct,
                    cell([x[1] for x in s]), cell([x[1] for x in p]), pq - sq, ck, g))
        if key[1] not in flat_skip:
            dq.append((key[1], pq - sq))
    L.append('')
    if len(dq) > 1:
        v = [x[1] for x in dq]
        L.append('Across %s %s to %s, patched - stock in the qcow2 part is %+.1f to %+.1f Ir '
                 '(a spread of %.1f Ir%s).'
                 % (dcol, dq[0][0], dq[-1][0], min(v), max(v), max(v) - min(v),
                    ': flat' if max(v) - min(v) <= 10 else ''))
        L.append('')

# function breakdown: marginal self cost per function, patched - stock
def load_fn(path):
    d = collections.Counter()
    if not os.path.exists(path):
        return None
    for line in open(path):
        m = re.match(r'\s*([\d,]+)\s+\(\s*[\d.]+%\)\s+(\S+?):(\S+)', line)
        if m:
            d[m.group(2).split('/')[-1] + ':' + re.sub(r"'\d+$", '', m.group(3))] += int(m.group(1).replace(',', ''))
    return d

def breakdown(title, base0, base1, n):
    f = {}
    for impl in ('stock', 'patched'):
        a = load_fn(os.path.join(work, 'cg', base0 % impl + '.txt'))
        b = load_fn(os.path.join(work, 'cg', base1 % impl + '.txt'))
        if a is None or b is None:
            return
        f[impl] = {k: (b[k] - a[k]) / n for k in set(a) | set(b)}
    rows = []
    for k in set(f['stock']) | set(f['patched']):
        s = f['stock'].get(k, 0.0); p = f['patched'].get(k, 0.0)
        if abs(p - s) >= 0.5:
            rows.append((p - s, s, p, k))
    rows.sort(key=lambda r: (-abs(r[0]), r[3]))
    L.append(title + '  A function that the series renamed or split shows up as a '
             'pair of rows, one with 0 in stock and one with 0 in patched.')
    L.append('')
    L.append('| function (file:function, self cost) | stock | patched | delta |')
    L.append('|---|---|---|---|')
    for dlt, s, p, k in rows[:12]:
        L.append('| `%s` | %.1f | %.1f | %+.1f |' % (k, s, p, dlt))
    L.append('| sum of all functions | %.1f | %.1f | %+.1f |'
             % (sum(f['stock'].values()), sum(f['patched'].values()),
                sum(f['patched'].values()) - sum(f['stock'].values())))
    L.append('')

# --- alloc
if any(k[0] == 'alloc' for k in order):
    L.append('## 64K allocating writes (Ir per write)')
    L.append('')
    L.append('`qemu-img bench -w -s 64K -d QD` on an empty image: every write allocates a '
             'cluster (sequential, no COW).  N0=%s, N1=%s writes.' % (E['A_N0'], E['A_N1']))
    L.append('')
    table_depth('alloc', '64K allocating writes', 'Ir/op', 'QD', 1.0, 'total <= +1%')
    ds = [k[1] for k in order if k[0] == 'alloc']
    lo, hi = ds[0], ds[-1]
    s_lo = row_numbers(('alloc', lo)); s_hi = row_numbers(('alloc', hi))
    L.append('Stock itself: %.0f Ir per write at QD%s, %.0f at QD%s (qcow2 part %.0f -> %.0f).'
             % (s_lo[2], lo, s_hi[2], hi, s_lo[4], s_hi[4]))
    L.append('')
    # stock growth breakdown (QD lo vs QD hi, stock only)
    a0 = load_fn(os.path.join(work, 'cg', 'alloc-qd%s-stock-%s-1.txt' % (lo, E['A_N0'])))
    a1 = load_fn(os.path.join(work, 'cg', 'alloc-qd%s-stock-%s-1.txt' % (lo, E['A_N1'])))
    b0 = load_fn(os.path.join(work, 'cg', 'alloc-qd%s-stock-%s-1.txt' % (hi, E['A_N0'])))
    b1 = load_fn(os.path.join(work, 'cg', 'alloc-qd%s-stock-%s-1.txt' % (hi, E['A_N1'])))
    if all(x is not None for x in (a0, a1, b0, b1)) and lo != hi:
        n = int(E['A_N1']) - int(E['A_N0'])
        g = []
        for k in set(a0) | set(a1) | set(b0) | set(b1):
            x = (a1[k] - a0[k]) / n; y = (b1[k] - b0[k]) / n
            if abs(y - x) >= 1:
                g.append((y - x, x, y, k))
        g.sort(key=lambda r: (-abs(r[0]), r[3]))
        L.append('Where stock\'s own cost per write grows with the depth (stock, Ir per write, self cost):')
        L.append('')
        L.append('| function | QD%s | QD%s | growth |' % (lo, hi))
        L.append('|---|---|---|---|')
        for dlt, x, y, k in g[:6]:
            L.append('| `%s` | %.1f | %.1f | %+.1f |' % (k, x, y, dlt))
        L.append('')
    breakdown('Where the patched delta goes at QD%s (Ir per write, self cost, first repetition):' % hi,
              'alloc-qd%s-%%s-%s-1' % (hi, E['A_N0']), 'alloc-qd%s-%%s-%s-1' % (hi, E['A_N1']),
              int(E['A_N1']) - int(E['A_N0']))

# --- small
if any(k[0] in ('rewrite', 'read') for k in order):
    L.append('## 4K rewrite and read on a fully allocated image (Ir per request)')
    L.append('')
    L.append('`qemu-img bench [-w] -s 4K -S %d -d QD` on a 1 GiB image whose every cluster '
             'is allocated (the callgrind rows of `tools/bench.sh`).  N0=%s, N1=%s requests.'
             % (4096 * 100003, E['S_N0'], E['S_N1']))
    L.append('')
    L.append('| row | stock Ir/op | patched Ir/op | delta | delta % | stock qcow2 | patched qcow2 | qcow2 delta | goal |')
    L.append('|---|---|---|---|---|---|---|---|---|')
    qd1 = {}
    for row, tgt in (('rewrite', 0.5), ('read', 0.8)):
        for qd in ('1', '32'):
            key = (row, qd)
            if key not in res:
                continue
            s, p, st, pt, sq, pq = row_numbers(key)
            pct = 100 * (pt - st) / st
            if qd == '1':
                ok = pct <= tgt
                qd1[row] = pq - sq
                g = 'total <= +%.1f%%: %s' % (tgt, status(ok))
                goal_results.append(('4K %s' % row, qd, pct, tgt, ok))
            else:
                d1 = qd1.get(row)
                if d1 is None:
                    g = '-'
                else:
                    ok = (pq - sq) - d1 <= 10
                    g = 'qcow2 delta within 10 Ir of QD1\'s (%+.1f): %s' % (d1, status(ok))
                    goal_results.append(('4K %s, qcow2 part flat in QD' % row, qd, (pq - sq) - d1, 10, ok))
            L.append('| 4K scattered %s, QD%s | %s | %s | %+.1f | %+.2f%% | %s | %s | %+.1f | %s |'
                     % (row, qd, cell([x[0] for x in s]), cell([x[0] for x in p]), pt - st, pct,
                        cell([x[1] for x in s]), cell([x[1] for x in p]), pq - sq, g))
    L.append('')
    L.append('At QD32 the main loop\'s share of a request depends on how many io_uring '
             'completions one iteration collects, which varies from run to run even under '
             'valgrind (see `docs/benchmarks.md`); the QD32 rows are therefore checked on the '
             'qcow2 part: its delta must not grow with the depth.')
    L.append('')

# --- discard
if any(k[0] == 'discard' for k in order):
    L.append('## One large discard with N 4K rewrites in flight (Ir per freed cluster)')
    L.append('')
    L.append('qemu-io through blkdebug: N rewrites of allocated clusters (above the discarded '
             'range) stopped at `write_aio`, i.e. in flight after qcow2 mapped them and dropped '
             '`s->lock`; then one `discard` of K clusters; then the N rewrites resumed and '
             '`aio_flush`, `flush`.  Marginal cost per freed cluster between K0=%s and K1=%s '
             'clusters; it includes what the patched build does later for the same clusters '
             '(releasing the retired runs when the rewrites complete).  Checks per run: the N '
             'requests were suspended and resumed, the discarded range reads back as zeroes '
             'and the first and last rewrite as their pattern, `qemu-img check` clean.'
             % (E['D_K0'], E['D_K1']))
    L.append('')
    table_depth('discard', 'discard, per freed cluster', 'Ir/cluster', 'N in flight', 10.0, 'total <= +10%',
                flat_skip=('0',))
    if ('discard-plain', '0') in res:
        s, p, st, pt, sq, pq = row_numbers(('discard-plain', '0'))
        L.append('Reference, N=0 without blkdebug (`file.driver=file`): stock %s, patched %s Ir per '
                 'freed cluster (%+.2f%%); qcow2 part %s -> %s.  blkdebug\'s own event handling '
                 'is part of the totals above (the same in both builds), so relative to the '
                 'cost of a free without it, the delta at N >= 1 is larger: see the last column below.'
                 % (cell([x[0] for x in s]), cell([x[0] for x in p]), 100 * (pt - st) / st,
                    cell([x[1] for x in s]), cell([x[1] for x in p])))
        L.append('')
        L.append('| N in flight | patched - stock, Ir per freed cluster | relative to stock with blkdebug | relative to stock\'s free without blkdebug (%.0f Ir) |' % st)
        L.append('|---|---|---|---|')
        for key in [k for k in order if k[0] == 'discard']:
            _, _, st2, pt2, _, _ = row_numbers(key)
            L.append('| %s | %+.1f | %+.1f%% | %+.1f%% |' % (key[1], pt2 - st2, 100 * (pt2 - st2) / st2, 100 * (pt2 - st2) / st))
        L.append('')
    alloc_rows = [l.rstrip('\n').split('\t') for l in open(os.path.join(work, 'discard-alloc.tsv')) if l.strip()]
    by = collections.defaultdict(dict)
    for plain, n, impl, rep, k, a in alloc_rows:
        by[(plain, n, impl, rep)][k] = a
    diffs = set()
    for v in by.values():
        try:
            diffs.add(int(v[E['D_K0']]) - int(v[E['D_K1']]))
        except (KeyError, ValueError):
            diffs.add('?')
    L.append('Allocated clusters after the K0 run minus after the K1 run (`qemu-img check`), over '
             'all runs: %s (expected %d: every discarded cluster is free again once the rewrites '
             'have completed).' % (', '.join(str(x) for x in sorted(diffs, key=str)),
                                   int(E['D_K1']) - int(E['D_K0'])))
    L.append('')
    breakdown('Where the patched delta goes with nothing in flight (N=0, no blkdebug; Ir per freed cluster, self cost, first repetition):',
              'discard-plain-n0-%%s-%s-1' % E['D_K0'], 'discard-plain-n0-%%s-%s-1' % E['D_K1'],
              int(E['D_K1']) - int(E['D_K0']))
    ns = [k[1] for k in order if k[0] == 'discard']
    nb = '128' if '128' in ns else ns[-1]
    breakdown('Where the patched delta goes at N=%s (Ir per freed cluster, self cost, first repetition):' % nb,
              'discard-n%s-%%s-%s-1' % (nb, E['D_K0']), 'discard-n%s-%%s-%s-1' % (nb, E['D_K1']),
              int(E['D_K1']) - int(E['D_K0']))

# --- mix
if any(k[0] == 'mix' for k in order):
    L.append('## fio over NBD: 4K randwrite + 256K randtrim (Ir of the daemon per write)')
    L.append('')
    L.append('qemu-storage-daemon under callgrind, fio (ioengine=nbd) against it: 4K random '
             'writes at depth QD and 256K random trims (1 per 64 writes, depth 4) over the same '
             'fully allocated 256 MiB image, so that trims free clusters and writes allocate them '
             'again.  Ir of the daemon per write, marginal between %s and %s writes.  The '
             'daemon\'s total is not deterministic: how many event loop iterations and wake-ups a '
             'request takes depends on the timing of fio, a separate process (the totals of '
             'identical runs differ by tens of percent); the qcow2 part is stable to about 1%%.  '
             'The goal is therefore checked on the qcow2 part\'s delta, as a share of stock\'s '
             'total (as `tools/bench.sh` does at QD32).' % (E['MIX_N0'], E['MIX_N1']))
    L.append('')
    table_depth('mix', 'fio mix, qcow2 part', 'Ir/write', 'QD', 1.0, 'qcow2 delta <= +1% of stock total', basis='qcow2')

# --- goals
L.append('## Goals (issue 13)')
L.append('')
L.append('| row | depth | delta | target | |')
L.append('|---|---|---|---|---|')
for label, d, v, t, ok in goal_results:
    if 'flat' in label:
        L.append('| %s | QD%s | %+.1f Ir vs QD1 | <= +%d Ir | %s |' % (label, d, v, t, status(ok)))
    else:
        L.append('| %s | %s | %+.2f%% | <= +%.1f%% | %s |' % (label, d, v, t, status(ok)))
L.append('')

L.append('## How it was measured')
L.append('')
L.append('- Machine: %s, %d CPUs, %s, kernel %s; load average at the start %s, at the end %s '
         '(shared machine; irrelevant to instruction counts).'
         % (subprocess.run(['sh', '-c', "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"], capture_output=True, text=True).stdout.strip(),
            os.cpu_count(), subprocess.run(['sh', '-c', "free -g | awk '/^Mem:/ {print $2 \" GiB RAM\"}'"], capture_output=True, text=True).stdout.strip(),
            platform.release(), E['LOAD_START'], E['LOAD_END']))
L.append('- %s; images on tmpfs.' % subprocess.run(['valgrind', '--version'], capture_output=True, text=True).stdout.strip())
L.append('- aio=io_uring with cache=writeback (`-t writeback -i io_uring`), as `tools/bench.sh`: '
         'under valgrind 3.19 QEMU hangs as soon as a request goes to the thread pool (the main '
         'loop waits in `io_uring_enter()` and valgrind does not let the worker thread run).  '
         '`-t none` (O_DIRECT) hangs that way with io_uring too (the unaligned header reads at open '
         'go to the thread pool), and `-i threads` does for every request.  So `-t none` of the '
         'brief could not be used; the qcow2 code paths are the same with either cache mode.')
L.append('- Builds (copied at the start of the run and run from the copy; the builds are '
         'identified by the SHA-256 of their binaries: the commit shown is the HEAD of the '
         'source tree when they were copied, which a binary built earlier need not match):')
L.append('')
L.append('```')
L.append(builds)
L.append('```')
L.append('')
L.append('- Commands:')
L.append('')
L.append('```')
L.extend(cmds)
L.append('```')
L.append('')
if notes:
    L.append('## Notes of the run')
    L.append('')
    for n in notes:
        L.append('- ' + n)
    L.append('')
open(out_f, 'w').write('\n'.join(L).rstrip('\n') + '\n')
PYEOF
}
if [ -n "${BENCH_QD_REPORT:-}" ]; then
    [ -f "$BENCH_QD_REPORT/env.sh" ] || die "$BENCH_QD_REPORT/env.sh is missing (not a BENCH_QD_KEEP directory?)"
    # shellcheck source=/dev/null
    . "$BENCH_QD_REPORT/env.sh"
    export "${REPORT_VARS[@]}"
    write_report "$BENCH_QD_REPORT"
    log "report written to $OUT from $BENCH_QD_REPORT"
    exit 0
fi
want() { [[ $1 =~ ^($ROWS)$ ]]; }
command -v valgrind >/dev/null || die "valgrind is missing (apt-get install valgrind)"
command -v callgrind_annotate >/dev/null || die "callgrind_annotate is missing"
if want mix; then
    command -v fio >/dev/null || die "fio is missing (apt-get install fio)"
    fio --enghelp=nbd >/dev/null 2>&1 || die "this fio has no nbd ioengine"
fi

CL=65536                       # cluster size (qemu-img create's default)
IMG_SIZE=1G                    # the fully allocated image of the small rows
STRIDE=$((4096 * 100003))      # as tools/bench.sh: scattered 4K blocks
CG_TIMEOUT=900                 # per valgrind run; SIGKILL (see below)

WORK=$(mktemp -d "$TMPBASE/qcow2-bench-qd.XXXXXX")
cleanup() {
    local p
    # only our own daemons, by the pids recorded when they were started
    if [ -f "$WORK/pids" ]; then
        while read -r p; do
            kill "$p" 2>/dev/null || true
            for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
            kill -9 "$p" 2>/dev/null || true
        done < "$WORK/pids"
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir -p "$WORK/cg" "$WORK/bin/stock" "$WORK/bin/patched"
RES=$WORK/results.tsv    # workload  depth  impl  rep  Ir_per_op  qcow2_Ir_per_op
CHK=$WORK/checks.tsv     # workload  depth  impl  rep  what  ok|FAIL  detail
NOTES=$WORK/notes.txt
CMDS=$WORK/commands.txt
: > "$RES"; : > "$CHK"; : > "$NOTES"; : > "$CMDS"
note() { log "$*"; echo "$*" >> "$NOTES"; }
cmd_note() { echo "$*" >> "$CMDS"; }

# --- snapshot of the two builds -------------------------------------------
TOOLS=(qemu-img qemu-io storage-daemon/qemu-storage-daemon)
snapshot() { # impl dir
    local impl=$1 dir=$2 t s1 s2 age i
    for t in "${TOOLS[@]}"; do
        [ -x "$dir/$t" ] || die "missing $dir/$t: run make build"
    done
    # wait (at most 10 minutes) until no binary changed for 30 s
    for i in $(seq 120); do
        age=$(( $(date +%s) - $(stat -c %Y "${TOOLS[@]/#/$dir/}" | sort -n | tail -n 1) ))
        s1=$(cd "$dir" && sha256sum "${TOOLS[@]}")
        sleep 1
        s2=$(cd "$dir" && sha256sum "${TOOLS[@]}")
        [ "$age" -ge 30 ] && [ "$s1" = "$s2" ] && break
        [ "$i" = 1 ] && log "$dir is being rebuilt, waiting"
        sleep 4
    done
    for t in "${TOOLS[@]}"; do cp "$dir/$t" "$WORK/bin/$impl/${t##*/}"; done
    (cd "$WORK/bin/$impl" && sha256sum "${TOOLS[@]##*/}") |
        cmp -s - <(cd "$dir" && sha256sum "${TOOLS[@]}" | sed 's| storage-daemon/| |') ||
        die "$dir changed while it was copied; run again"
    {
        echo "$impl: $dir (binaries of $(date -u -r "$dir/qemu-img" '+%Y-%m-%d %H:%M:%S UTC'))"
        (cd "$dir" && sha256sum "${TOOLS[@]}") | sed 's/^/    /'
    } >> "$WORK/builds.txt"
}
: > "$WORK/builds.txt"
snapshot stock "$STOCK"
snapshot patched "$PATCHED"
tree_state() { # the git state of a source tree, for the report
    local d=$1
    if git -C "$d" rev-parse HEAD >/dev/null 2>&1; then
        echo "    $(git -C "$d" log -1 --format='%h %s' 2>/dev/null)"
        local n
        n=$(git -C "$d" status --short --untracked-files=no 2>/dev/null | wc -l)
        if [ "$n" != 0 ]; then
            echo "    uncommitted changes in $n files when the binaries were copied (the build may or may not contain them):"
            git -C "$d" status --short --untracked-files=no | sed 's/^/      /'
        fi
    fi
}
{ echo "source of patched: $TREE"; tree_state "$TREE"; echo "source of stock: $STOCK_SRC"; tree_state "$STOCK_SRC"; } >> "$WORK/builds.txt"
bin() { echo "$WORK/bin/$1/$2"; }
IMG=$(bin stock qemu-img)
QIO=$(bin stock qemu-io)

log "mode $MODE, rows '$ROWS', $REPEAT repeats, work dir $WORK"
DATE_START=$(date -u '+%Y-%m-%d %H:%M UTC'); export DATE_START
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg); export LOAD_START

# --- callgrind ------------------------------------------------------------
# aio=io_uring with cache=writeback, as tools/bench.sh: under valgrind
# 3.19, QEMU hangs as soon as a request goes to the thread pool (the main
# loop waits in io_uring_enter() and valgrind does not let the worker
# thread run meanwhile).  aio=threads does that for every request, and so
# does -t none (O_DIRECT) with io_uring: the unaligned reads of the image
# header at open go to the thread pool.  The runs are killed with SIGKILL,
# which is the only signal a valgrind stuck that way obeys.
# Helper: Ir of a callgrind_annotate output, total and block/qcow2*.c
cat > "$WORK/ir.py" <<'PYEOF'
import re, sys
total = qcow2 = 0
for line in open(sys.argv[1]):
    m = re.match(r'\s*([\d,]+)\s+\(\s*[\d.]+%\)\s+(\S+?):(\S+)', line)
    if not m:
        continue
    n = int(m.group(1).replace(',', ''))
    total += n
    if '/block/qcow2' in m.group(2):
        qcow2 += n
print(total, qcow2)
PYEOF

cg_run() { # name cmd... -> "total qcow2"; the annotation in $WORK/cg/name.txt
    local f=$WORK/cg/$1
    shift
    timeout -s KILL "$CG_TIMEOUT" valgrind --tool=callgrind \
        --callgrind-out-file="$f.out" "$@" > "$f.log" 2>&1 ||
        { log "callgrind run $f failed:"; tail -n 5 "$f.log" >&2; return 1; }
    callgrind_annotate --auto=no --threshold=100 "$f.out" > "$f.txt"
    rm -f "$f.out"
    "$PY" "$WORK/ir.py" "$f.txt"
}

# record WORKLOAD DEPTH IMPL REP N0 N1 "a0 q0" "a1 q1"
record() {
    local w=$1 d=$2 impl=$3 rep=$4 n0=$5 n1=$6 a0 q0 a1 q1
    read -r a0 q0 <<<"$7"
    read -r a1 q1 <<<"$8"
    if [ -z "${q0:-}" ] || [ -z "${q1:-}" ]; then die "$w $d $impl: no instruction count"; fi
    "$PY" -c 'import sys; a0,q0,a1,q1,n0,n1=map(int,sys.argv[1:7]); print("%s\t%s\t%s\t%s\t%.1f\t%.1f" % (sys.argv[7],sys.argv[8],sys.argv[9],sys.argv[10],(a1-a0)/(n1-n0),(q1-q0)/(n1-n0)))' \
        "$a0" "$q0" "$a1" "$q1" "$n0" "$n1" "$w" "$d" "$impl" "$rep" | tee -a "$RES" |
        awk -F'\t' '{ printf "%s %s %s #%s: %s Ir/op (%s in block/qcow2*.c)\n", $1, $2, $3, $4, $5, $6 }' >&2
}

check() { # workload depth impl rep what ok detail
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >> "$CHK"
    [ "$6" = ok ] || note "$1 $2 $3 #$4: $5 FAILED: $7"
}

# qemu-img check of an image: clean (no corruption, no leak)?
img_check() { # workload depth impl rep image
    local out rc=0
    out=$("$(bin "$3" qemu-img)" check --output=json "$5" 2>&1) || rc=$?
    if [ "$rc" = 0 ]; then
        check "$1" "$2" "$3" "$4" "qemu-img check" ok ""
    else
        check "$1" "$2" "$3" "$4" "qemu-img check" FAIL "exit $rc: $(tr -d '\n' <<<"$out" | head -c 300)"
    fi
    "$PY" -c 'import json,sys; print(json.loads(sys.argv[1]).get("allocated-clusters", ""))' "$out" 2>/dev/null || echo
}

order() { # rep -> the builds in the order of this repetition
    if [ $(($1 % 2)) = 1 ]; then echo "stock patched"; else echo "patched stock"; fi
}

# --- a. 64K allocating writes ----------------------------------------------
# A fresh empty image per run, large enough that every write allocates
# (qemu-img bench writes sequentially from 0 and would wrap around).
A_IMG_SIZE=$(( (A_N1 * CL + (1 << 30) - 1) / (1 << 30) ))G
alloc_run() { # impl qd n rep -> "total qcow2"
    local impl=$1 qd=$2 n=$3 rep=$4 img=$WORK/alloc.qcow2 r
    "$IMG" create -q -f qcow2 "$img" "$A_IMG_SIZE"
    r=$(cg_run "alloc-qd$qd-$impl-$n-$rep" "$(bin "$impl" qemu-img)" bench -q -w \
        -f qcow2 -t writeback -i io_uring -s 64K -d "$qd" -c "$n" "$img") || return 1
    img_check alloc "$qd" "$impl" "$rep" "$img" > /dev/null
    rm -f "$img"
    echo "$r"
}
if want alloc; then
    cmd_note "alloc: qemu-img create -f qcow2 IMG $A_IMG_SIZE (fresh for each run)"
    cmd_note "alloc: valgrind --tool=callgrind qemu-img bench -q -w -f qcow2 -t writeback -i io_uring -s 64K -d QD -c {$A_N0,$A_N1} IMG"
    for rep in $(seq "$REPEAT"); do
        for qd in $DEPTHS; do
            for impl in $(order "$rep"); do
                r0=$(alloc_run "$impl" "$qd" "$A_N0" "$rep") || die "alloc run failed"
                r1=$(alloc_run "$impl" "$qd" "$A_N1" "$rep") || die "alloc run failed"
                record alloc "$qd" "$impl" "$rep" "$A_N0" "$A_N1" "$r0" "$r1"
            done
        done
    done
fi

# --- b. 4K rewrite and read on a fully allocated image ---------------------
if want small; then
    BASE=$WORK/base.qcow2
    log "creating a fully allocated $IMG_SIZE qcow2 image"
    "$IMG" create -q -f qcow2 "$BASE" "$IMG_SIZE"
    "$QIO" -f qcow2 -c "write -P 0xa5 0 $IMG_SIZE" "$BASE" > /dev/null
    cmd_note "small: qemu-img create -f qcow2 IMG $IMG_SIZE; qemu-io -f qcow2 -c 'write -P 0xa5 0 $IMG_SIZE' IMG (stock build)"
    cmd_note "small: valgrind --tool=callgrind qemu-img bench -q -f qcow2 -t writeback -i io_uring -d QD [-w] -s 4K -S $STRIDE -c {$S_N0,$S_N1} IMG"
    for rep in $(seq "$REPEAT"); do
        for row in rewrite read; do
            w=()
            if [ "$row" = rewrite ]; then w=(-w); fi
            for qd in 1 32; do
                for impl in $(order "$rep"); do
                    rr=()
                    for n in "$S_N0" "$S_N1"; do
                        r=$(cg_run "$row-qd$qd-$impl-$n-$rep" "$(bin "$impl" qemu-img)" bench -q \
                            -f qcow2 -t writeback -i io_uring -d "$qd" "${w[@]}" -s 4K \
                            -S "$STRIDE" -c "$n" "$BASE") || die "$row run failed"
                        rr+=("$r")
                    done
                    record "$row" "$qd" "$impl" "$rep" "$S_N0" "$S_N1" "${rr[0]}" "${rr[1]}"
                done
            done
        done
    done
    img_check small all stock 1 "$BASE" > /dev/null
    rm -f "$BASE"
fi

# --- c. one large discard with N 4K rewrites in flight ---------------------
# Image: D_K1 clusters that are discarded, then one cluster per request in
# flight, all written once (a separate qemu-io run, before valgrind).
# Under valgrind, qemu-io through blkdebug: N rewrites stopped by blkdebug
# at write_aio (after qcow2 mapped them and dropped s->lock), the discard
# of K clusters, the N rewrites resumed, aio_flush, flush.  The cost of K0
# and K1 clusters gives the marginal cost per freed cluster, which includes
# whatever the patched build does for it later (the release of the
# retired clusters when the rewrites complete).  discard=ignore on the
# protocol nodes: qcow2 still frees the clusters and queues its host
# discards, only the final fallocate(PUNCH_HOLE) is skipped, which would
# go to the thread pool (see above) and costs one system call per run of
# clusters anyway.
NMAX=0
for n in $DISCARD_N; do [ "$n" -gt "$NMAX" ] && NMAX=$n; done
D_SIZE=$(( (D_K1 + (NMAX > 0 ? NMAX : 1)) * CL ))
discard_run() { # impl n k rep [plain] -> "total qcow2"
    local impl=$1 n=$2 k=$3 rep=$4 plain=${5:-} img=$WORK/discard.qcow2 i off r
    local args=() opts susp res
    cp "$D_BASE" "$img"
    for i in $(seq "$n"); do
        off=$(( (D_K1 + i - 1) * CL ))
        args+=(-c "break write_aio A$i" -c "aio_write -q -P 2 $off 4K" -c "wait_break A$i")
    done
    args+=(-c "discard -q 0 $((k * CL))")
    for i in $(seq "$n"); do args+=(-c "resume A$i"); done
    args+=(-c "aio_flush" -c "flush")
    if [ -n "$plain" ]; then
        opts="driver=qcow2,file.driver=file,file.filename=$img,file.aio=io_uring,file.discard=ignore"
    else
        opts="driver=qcow2,file.driver=blkdebug,file.discard=ignore,file.image.driver=file,file.image.filename=$img,file.image.aio=io_uring,file.image.discard=ignore"
    fi
    local name=discard${plain:+-plain}-n$n-$impl-$k-$rep
    r=$(cg_run "$name" "$(bin "$impl" qemu-io)" --image-opts "${args[@]}" "$opts") || return 1
    susp=$(grep -c "^blkdebug: Suspended request" "$WORK/cg/$name.log" || true)
    res=$(grep -c "^blkdebug: Resuming request" "$WORK/cg/$name.log" || true)
    if [ "$susp" = "$n" ] && [ "$res" = "$n" ]; then
        check discard "$n" "$impl" "$rep" "K=$k: $n requests suspended and resumed" ok ""
    else
        check discard "$n" "$impl" "$rep" "K=$k: $n requests suspended and resumed" FAIL "$susp suspended, $res resumed"
    fi
    # the rewrites landed, the discarded range reads as zeroes
    local vargs=(-c "read -q -P 0 0 $((k * CL))")
    [ "$n" -ge 1 ] && vargs+=(-c "read -q -P 2 $((D_K1 * CL)) 4K" -c "read -q -P 2 $(( (D_K1 + n - 1) * CL )) 4K")
    if "$(bin "$impl" qemu-io)" -f qcow2 "${vargs[@]}" "$img" > "$WORK/verify.out" 2>&1 &&
       ! grep -q -i -E 'fail|error' "$WORK/verify.out"; then
        check discard "$n" "$impl" "$rep" "K=$k: data after the run" ok ""
    else
        check discard "$n" "$impl" "$rep" "K=$k: data after the run" FAIL "$(head -c 300 "$WORK/verify.out")"
    fi
    local alloc
    alloc=$(img_check discard "$n" "$impl" "$rep" "$img")
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$plain" "$n" "$impl" "$rep" "$k" "$alloc" >> "$WORK/discard-alloc.tsv"
    rm -f "$img"
    echo "$r"
}
if want discard; then
    D_BASE=$WORK/discard-base.qcow2
    : > "$WORK/discard-alloc.tsv"
    log "creating the discard image ($((D_SIZE / CL)) clusters, all written)"
    "$IMG" create -q -f qcow2 "$D_BASE" "$D_SIZE"
    "$QIO" -f qcow2 -c "write -P 1 0 $D_SIZE" "$D_BASE" > /dev/null
    cmd_note "discard: qemu-img create -f qcow2 IMG $D_SIZE; qemu-io -f qcow2 -c 'write -P 1 0 $D_SIZE' IMG (stock build; copied for each run)"
    cmd_note "discard: valgrind --tool=callgrind qemu-io --image-opts [for i in 1..N: -c 'break write_aio Ai' -c 'aio_write -q -P 2 \$(( ($D_K1 + i - 1) * 64K )) 4K' -c 'wait_break Ai'] -c 'discard -q 0 \$((K * 64K))' [for i in 1..N: -c 'resume Ai'] -c aio_flush -c flush driver=qcow2,file.driver=blkdebug,file.discard=ignore,file.image.driver=file,file.image.filename=IMG,file.image.aio=io_uring,file.image.discard=ignore   (K in $D_K0, $D_K1)"
    cmd_note "discard, reference row: the same with N=0 and driver=qcow2,file.driver=file,file.filename=IMG,file.aio=io_uring,file.discard=ignore (no blkdebug)"
    cmd_note "discard: afterwards qemu-io -c 'read -P 0 0 K*64K' -c 'read -P 2 ...' (first and last rewrite) and qemu-img check --output=json IMG"
    for rep in $(seq "$REPEAT"); do
        for impl in $(order "$rep"); do
            r0=$(discard_run "$impl" 0 "$D_K0" "$rep" plain) || die "discard run failed"
            r1=$(discard_run "$impl" 0 "$D_K1" "$rep" plain) || die "discard run failed"
            record discard-plain 0 "$impl" "$rep" "$D_K0" "$D_K1" "$r0" "$r1"
        done
        for n in $DISCARD_N; do
            for impl in $(order "$rep"); do
                r0=$(discard_run "$impl" "$n" "$D_K0" "$rep") || die "discard run failed"
                r1=$(discard_run "$impl" "$n" "$D_K1" "$rep") || die "discard run failed"
                record discard "$n" "$impl" "$rep" "$D_K0" "$D_K1" "$r0" "$r1"
            done
        done
    done
    rm -f "$D_BASE"
fi

# --- d. optional: fio over NBD, 4K randwrite + 256K randtrim ---------------
# qemu-storage-daemon under callgrind exports a fully written image on a
# unix socket; fio (ioengine=nbd) runs a fixed number of 4K random writes
# at queue depth QD, and a second job 256K random trims at depth 4 over the
# same range (time-limited by the writes: it stops when they stop).  Ir of
# the daemon per write, marginal between MIX_N0 and MIX_N1 writes; the
# trims scale with the writes only roughly (they race), so this row is an
# indication, not a deterministic count.
MIX_SIZE=256M
mix_run() { # impl qd n rep -> "total qcow2"
    local impl=$1 qd=$2 n=$3 rep=$4 d img sock qsd rc=0 i name f
    d=$(mktemp -d "$WORK/mix.XXXXXX")
    img=$d/img.qcow2 sock=$d/nbd.sock
    cp "$MIX_BASE" "$img"
    name=mix-qd$qd-$impl-$n-$rep
    f=$WORK/cg/$name
    valgrind --tool=callgrind --callgrind-out-file="$f.out" \
        "$(bin "$impl" qemu-storage-daemon)" \
        --blockdev "driver=file,node-name=file0,filename=$img,aio=io_uring,discard=ignore" \
        --blockdev "driver=qcow2,node-name=fmt0,file=file0,discard=unmap" \
        --nbd-server "addr.type=unix,addr.path=$sock" \
        --export "type=nbd,id=exp0,node-name=fmt0,name=disk,writable=on" \
        > "$f.log" 2>&1 &
    qsd=$!
    echo "$qsd" >> "$WORK/pids"
    for i in $(seq 600); do [ -S "$sock" ] && break; sleep 0.1; done
    [ -S "$sock" ] || { tail "$f.log" >&2; kill -9 "$qsd"; return 1; }
    cat > "$d/mix.fio" <<EOF
[global]
ioengine=nbd
uri=nbd+unix:///disk?socket=$sock
randrepeat=1
norandommap=1
size=$MIX_SIZE

[writes]
rw=randwrite
bs=4k
iodepth=$qd
number_ios=$n

[trims]
rw=randtrim
bs=256k
iodepth=4
number_ios=$((n / 64))
EOF
    timeout -s KILL "$CG_TIMEOUT" fio --output-format=json --output="$d/fio.json" "$d/mix.fio" \
        > "$d/fio.log" 2>&1 || rc=$?
    kill "$qsd" 2>/dev/null || true
    for i in $(seq 600); do kill -0 "$qsd" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$qsd" 2>/dev/null || true
    wait "$qsd" 2>/dev/null || true
    [ "$rc" = 0 ] || { log "fio failed ($rc)"; tail "$d/fio.log" >&2; return 1; }
    [ -s "$f.out" ] || { log "no callgrind output"; return 1; }
    callgrind_annotate --auto=no --threshold=100 "$f.out" > "$f.txt"
    rm -f "$f.out"
    img_check mix "$qd" "$impl" "$rep" "$img" > /dev/null
    "$PY" -c 'import json,sys; j=json.load(open(sys.argv[1])); print(" ".join("%s=%d" % (x["jobname"], x["write"]["total_ios"] + x["trim"]["total_ios"]) for x in j["jobs"]))' \
        "$d/fio.json" >> "$WORK/mix-ios.txt"
    rm -rf "$d"
    "$PY" "$WORK/ir.py" "$f.txt"
}
if want mix; then
    MIX_BASE=$WORK/mix-base.qcow2
    : > "$WORK/mix-ios.txt"
    "$IMG" create -q -f qcow2 "$MIX_BASE" "$MIX_SIZE"
    "$QIO" -f qcow2 -c "write -P 0xa5 0 $MIX_SIZE" "$MIX_BASE" > /dev/null
    cmd_note "mix: valgrind --tool=callgrind qemu-storage-daemon --blockdev driver=file,node-name=file0,filename=IMG,aio=io_uring,discard=ignore --blockdev driver=qcow2,node-name=fmt0,file=file0,discard=unmap --nbd-server addr.type=unix,addr.path=SOCK --export type=nbd,id=exp0,node-name=fmt0,name=disk,writable=on"
    cmd_note "mix: fio ioengine=nbd size=$MIX_SIZE randrepeat=1 norandommap=1: job writes rw=randwrite bs=4k iodepth=QD number_ios={$MIX_N0,$MIX_N1}; job trims rw=randtrim bs=256k iodepth=4 number_ios=writes/64"
    for rep in $(seq "$REPEAT"); do
        for qd in $MIX_DEPTHS; do
            for impl in $(order "$rep"); do
                r0=$(mix_run "$impl" "$qd" "$MIX_N0" "$rep") || die "mix run failed"
                r1=$(mix_run "$impl" "$qd" "$MIX_N1" "$rep") || die "mix run failed"
                record mix "$qd" "$impl" "$rep" "$MIX_N0" "$MIX_N1" "$r0" "$r1"
            done
        done
    done
    rm -f "$MIX_BASE"
fi

# --- report ---------------------------------------------------------------
for impl in stock patched; do
    dir=$STOCK; [ "$impl" = patched ] && dir=$PATCHED
    if ! (cd "$dir" && sha256sum "${TOOLS[@]}" | sed 's| storage-daemon/| |') |
         cmp -s - <(cd "$WORK/bin/$impl" && sha256sum "${TOOLS[@]##*/}"); then
        note "build/$impl was rebuilt during the run (the run used the copy taken at its start)"
    fi
done
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg); export LOAD_END
RUNTIME=$((SECONDS - T_START)); export RUNTIME
for v in "${REPORT_VARS[@]}"; do printf '%s=%q\n' "$v" "${!v}"; done > "$WORK/env.sh"
export "${REPORT_VARS[@]}"
write_report "$WORK"
if [ -n "${BENCH_QD_KEEP:-}" ]; then
    mkdir -p "$BENCH_QD_KEEP"
    cp -r "$RES" "$CHK" "$NOTES" "$CMDS" "$WORK/builds.txt" "$WORK/env.sh" "$WORK/cg" "$BENCH_QD_KEEP"/
    for f in discard-alloc.tsv mix-ios.txt; do
        if [ -f "$WORK/$f" ]; then cp "$WORK/$f" "$BENCH_QD_KEEP"/; fi
    done
    log "raw results kept in $BENCH_QD_KEEP"
fi
log "report written to $OUT ($((SECONDS - T_START)) s)"
