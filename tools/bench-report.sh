#!/bin/bash
# Write docs/benchmarks.md and docs/benchmark-ratios.svg from the raw
# results of a tools/bench.sh run.
#
#   tools/bench-report.sh DIR [OUT]
#
# DIR holds results.tsv, rows.tsv, callgrind.tsv, notes.txt, mix.fio,
# env.sh and the callgrind_annotate outputs cg-IMPL-N-ROW.txt: tools/bench.sh
# calls this on its work directory, and BENCH_KEEP=DIR keeps a copy, so
# that the report can be written again (after a change to this script)
# without measuring again.  OUT defaults to docs/benchmarks.md; the SVG
# goes next to it, as benchmark-ratios.svg (or X-ratios.svg for X.md).
. "$(dirname "$0")/common.sh"

DIR=${1:?usage: bench-report.sh DIR [OUT]}
OUT=${2:-$TOP/docs/benchmarks.md}
# docs/benchmarks.md -> docs/benchmark-ratios.svg, docs/X.md -> docs/X-ratios.svg
case $OUT in
*/benchmarks.md|benchmarks.md) SVG=$(dirname "$OUT")/benchmark-ratios.svg ;;
*) SVG=${OUT%.md}-ratios.svg ;;
esac
for f in results.tsv rows.tsv callgrind.tsv notes.txt env.sh; do
    [ -f "$DIR/$f" ] || die "$DIR/$f is missing"
done
# shellcheck source=/dev/null
. "$DIR/env.sh"
export HOT_PAIRS HOT_MAX HOT_CI MIX_PAIRS PIN MODE PAIRS DATE_START TCG_STOCK \
    TCG_PATCHED LOAD_START LOAD_HOT LOAD_END STRIDE IMG_SIZE CG_N0 CG_N1 \
    MIX_RUNTIME CONV_MIB QUICK
mkdir -p "$(dirname "$OUT")"
"$PY" - "$DIR/results.tsv" "$DIR/rows.tsv" "$DIR/callgrind.tsv" "$DIR/notes.txt" \
    "$OUT" "$SVG" "$DIR" "$DIR/mix.fio" <<'PYEOF'
import os, platform, re, statistics, subprocess, sys, glob, html

res_f, meta_f, cg_f, notes_f, out_f, svg_f, work, mix_fio = sys.argv[1:9]
E = os.environ

def median(xs):
    return statistics.median(xs)

def median_ci(xs):
    """
    Distribution-free 95% confidence interval of the median: the order
    statistics whose ranks the binomial(n, 1/2) distribution puts around
    the middle with at least 95% probability between them.  None for
    fewer than 6 values (no such interval exists).
    """
    n = len(xs)
    ys = sorted(xs)
    from math import comb
    best = None
    for k in range(n // 2, -1, -1):
        # P(X_(k+1) <= median < X_(n-k)) = sum_{i=k+1}^{n-k-1} C(n,i)/2^n
        p = sum(comb(n, i) for i in range(k + 1, n - k)) / 2 ** n
        if p >= 0.95:
            best = k
            break
    if best is None:
        return (float('nan'), float('nan'))
    return (ys[best], ys[n - best - 1])

meta = []
for line in open(meta_f):
    if line.strip():
        meta.append(line.rstrip('\n').split('\t'))
vals = {}
for line in open(res_f):
    if not line.strip():
        continue
    row, pair, impl, v = line.rstrip('\n').split('\t')
    vals.setdefault(row, {}).setdefault(int(pair), {})[impl] = float(v)

def fmt(v, unit):
    if unit in ('ops/s', 'IOPS'):
        return '{:,.0f}'.format(v)
    if unit == 's':
        return '%.2f' % v
    return '%.1f' % v

rows_out = []
plot = []
for row, label, unit, better, target, cmd in meta:
    pairs = vals.get(row, {})
    ps = [pairs[k] for k in sorted(pairs) if 'stock' in pairs[k] and 'patched' in pairs[k]]
    if not ps:
        continue
    st = [p['stock'] for p in ps]
    pa = [p['patched'] for p in ps]
    ratios = [p['patched'] / p['stock'] for p in ps]
    mr = median(ratios)
    lo, hi = median_ci(ratios)
    # overhead: positive when patched is worse
    ovh = (1 / mr - 1) * 100 if better == 'higher' else (mr - 1) * 100
    if better == 'higher':
        ci = ((1 / hi - 1) * 100, (1 / lo - 1) * 100)
    else:
        ci = ((lo - 1) * 100, (hi - 1) * 100)
    # A median beyond the limit is a miss only if the confidence interval
    # is beyond it too; otherwise this machine cannot tell (see A/A).
    if target == 'hot':
        limit = 1.0
        tgt = 'overhead <= 1%'
    elif target == 'mix':
        limit = (1 / 0.98 - 1) * 100
        tgt = 'ratio >= 0.98'
    else:
        limit = None
        tgt = 'A/A: the spread of identical builds' if target == 'control' else '-'
    if limit is None:
        verdict = '-'
    elif ovh <= limit:
        verdict = 'met'
    elif ci[0] == ci[0] and ci[0] <= limit:
        verdict = 'not resolved'
    else:
        verdict = 'MISSED'
    rows_out.append((label, unit, better, st, pa, ratios, mr, ovh, tgt, verdict, ci))
    plot.append((label, mr, better, verdict))

cg = {}
cg_label = {}
cg_cmd = {}
cg_basis = {}
for line in open(cg_f):
    if line.strip():
        row, impl, ir, q, label, cmd, basis = line.rstrip('\n').split('\t')
        cg.setdefault(row, {})[impl] = (int(ir), int(q))
        cg_label[row] = label
        cg_cmd[row] = cmd
        cg_basis[row] = basis

def sh(cmd):
    try:
        return subprocess.check_output(cmd, shell=True, text=True, stderr=subprocess.DEVNULL).strip()
    except Exception:
        return '?'

cpu = '?'
for line in open('/proc/cpuinfo'):
    if line.startswith('model name'):
        cpu = line.split(':', 1)[1].strip()
        break
mem = sh("awk '/MemTotal/ {printf \"%.1f GiB\", $2/1048576}' /proc/meminfo")

L = []
w = L.append
w('# Benchmarks: stock vs patched qcow2')
w('')
w('Generated by `tools/bench.sh` (%s mode; every wall-clock row starts with one warm-up pair).' % E['MODE'])
w('Do not edit by hand: rerun the script.')
w('')
# The NBD mix and convert rows keep both CPUs busy themselves: the load
# at the end says nothing about other work, the load at the start and
# after the qemu-img bench rows (which keep one CPU busy) does.
loads = [E['LOAD_START']] + ([E['LOAD_HOT']] if E.get('LOAD_HOT') else [])
busy = max(float(l.split()[0]) for l in loads) >= 1.5
w('> Taken %s; load average %s at the start, %s after the qemu-img bench' % (
    E['DATE_START'], E['LOAD_START'], E.get('LOAD_HOT') or 'not recorded'))
w('> rows, %s at the end (the NBD mix and convert rows load both CPUs).' % E['LOAD_END'])
if busy:
    w('> **Other work was running on the machine** (1-minute load >= 1.5 at the')
    w('> start or after the qemu-img bench rows): the wall-clock rows are')
    w('> indicative only.')
else:
    w('> Nothing else ran on the machine (1-minute load below 1.5; the benchmark')
    w('> itself keeps about one CPU busy).')
w('> The callgrind rows count instructions and do not depend on the load.')
w('')
w('## Machine')
w('')
w('| | |')
w('|---|---|')
w('| nproc | %s |' % sh('nproc'))
w('| CPU | %s |' % cpu)
w('| memory | %s |' % mem)
w('| kernel | %s |' % sh('uname -srvm'))
w('| OS | %s |' % sh(". /etc/os-release && echo $PRETTY_NAME"))
w('| QEMU | 10.2.2 (Debian 1:10.2.2+ds-1); stock = `build/stock`, patched = `build/patched` |')
w('| fio | %s |' % sh('fio --version'))
w('| valgrind | %s |' % sh('valgrind --version'))
w('| images | tmpfs (`/dev/shm`), qcow2, 64 KiB clusters, cache=writeback (tmpfs has no O_DIRECT) |')
w('')
w('## Wall clock (stock and patched alternately, A B B A A B ...)')
w('')
w('Median and min-max over the measured runs; ratio = patched / stock of the')
w('same pair; overhead > 0 means patched is slower (from the median ratio),')
w('with the distribution-free 95% confidence interval of the median.  The')
if int(E['HOT_MAX']) > int(E['HOT_PAIRS']):
    hot = ('at least %s pairs, then more in blocks of 25 until the confidence interval '
           'of the overhead is at most %s points wide (at most %s pairs; the rule looks '
           'at the width only, not at where the median lies)' % (E['HOT_PAIRS'], E['HOT_CI'], E['HOT_MAX']))
else:
    hot = '%s pairs' % E['HOT_PAIRS']
w('qemu-img bench rows: short runs (about 0.15 s), %s,' % hot)
w('`qemu-img bench` pinned to CPU %s with taskset (see the comments in' % E['PIN'])
w('`tools/bench.sh`); the NBD mix rows: %s pairs; the convert row: %s pairs.' % (E['MIX_PAIRS'], E['PAIRS']))
w('Which build runs first alternates from pair to pair.')
if any(r[8].startswith('A/A') for r in rows_out):
    w('The A/A control row runs the stock build in both places of every pair:')
    w('its ratios are what this machine makes of two identical builds, the')
    w('noise floor against which the other rows must be read.')
w('')
w('| row | better | stock median (min-max) | patched median (min-max) | pairs | median ratio | overhead | 95% CI of the overhead | target | |')
w('|---|---|---|---|---|---|---|---|---|---|')
for label, unit, better, st, pa, ratios, mr, ovh, tgt, verdict, ci in rows_out:
    w('| %s [%s] | %s | %s (%s-%s) | %s (%s-%s) | %d | **%.3f** | %+.1f%% | %s | %s | %s |' % (
        label, unit, 'higher' if better == 'higher' else 'lower',
        fmt(median(st), unit), fmt(min(st), unit), fmt(max(st), unit),
        fmt(median(pa), unit), fmt(min(pa), unit), fmt(max(pa), unit),
        len(ratios), mr, ovh,
        'n/a (too few pairs)' if ci[0] != ci[0] else '%+.1f%% to %+.1f%%' % ci,
        tgt, verdict))
w('')
if any(r[9] == 'not resolved' for r in rows_out):
    w('"not resolved": the median misses the target, but the confidence interval')
    w('reaches it: the difference is below what this machine can resolve (compare')
    w('the A/A row); "MISSED" would need the whole interval beyond the target.')
    w('')
w('<details><summary>ratio of every pair, in run order</summary>')
w('')
for label, unit, better, st, pa, ratios, mr, ovh, tgt, verdict, ci in rows_out:
    w('- %s: %s' % (label, ' '.join('%.3f' % r for r in ratios)))
w('')
w('</details>')
w('')
if cg:
    w('## Instructions per operation (callgrind, deterministic)')
    w('')
    w('Marginal cost of one request: (Ir of %s requests - Ir of %s requests) / %d,' % (
        E['CG_N1'], E['CG_N0'], int(E['CG_N1']) - int(E['CG_N0'])))
    w('so that start-up and exit do not count.  "qcow2 code" is the self cost of')
    w('the functions in `block/qcow2*.c` (where the series changes code); "other"')
    w('is the rest of the difference.  The target (<= 1%) is checked against both')
    w('the whole difference and the qcow2 part alone.')
    w('')
    w('| row | stock Ir/op | patched Ir/op | delta | qcow2 code: stock | patched | delta (% of stock total) | other delta | target: total | target: qcow2 part |')
    w('|---|---|---|---|---|---|---|---|---|---|')
    for row in cg:
        s, p = cg[row]['stock'], cg[row]['patched']
        d = (p[0] - s[0]) / s[0] * 100
        dq = (p[1] - s[1]) / s[0] * 100
        if cg_basis[row] == 'total':
            plot.append(('callgrind: ' + cg_label[row] + ' [Ir/op]', p[0] / s[0], 'lower',
                         'met' if d <= 1.0 else 'MISSED'))
            vt = 'met' if d <= 1.0 else 'MISSED'
        else:
            plot.append(('callgrind, qcow2 code: ' + cg_label[row] + ' [Ir/op]', 1 + dq / 100,
                         'lower', 'met' if dq <= 1.0 else 'MISSED'))
            vt = '- (see below)'
        w('| %s | %d | %d | %+.2f%% | %d | %d | %+d (%+.2f%%) | %+d | %s | %s |' % (
            cg_label[row], s[0], p[0], d, s[1], p[1], p[1] - s[1], dq,
            (p[0] - s[0]) - (p[1] - s[1]),
            vt, 'met' if dq <= 1.0 else 'MISSED'))
    w('')
    if any(b != 'total' for b in cg_basis.values()):
        w('"- (see below)": at QD32 the total is not deterministic.  How many')
        w('completions one main loop iteration collects depends on when the kernel')
        w('completes the io_uring requests, even under valgrind, so the main loop\'s')
        w('share of a request varies from run to run (for the rewrite, three runs')
        w('each: stock 6812-6827 Ir/op, patched 6844-6909 Ir/op); the qcow2 code\'s')
        w('share does not.  These rows are there to show that the qcow2 cost of a')
        w('request does not grow with the number of requests in flight (compare')
        w('the QD1 rows); their target is checked on the qcow2 part.')
        w('')
    if E.get('TCG_STOCK') != E.get('TCG_PATCHED'):
        w('The two builds are not configured alike: TCG is %s in `build/stock`' % E['TCG_STOCK'])
        w('(tools only) and %s in `build/patched` (which also builds' % E['TCG_PATCHED'])
        w('qemu-system-x86_64).  With CONFIG_TCG, `icount_enabled()` reads a variable')
        w('instead of being the constant ICOUNT_DISABLED, so the main loop\'s timer')
        w('code (`timerlistgroup_deadline_ns`, `qemu_clock_get_ns`,')
        w('`qemu_clock_run_all_timers`) costs more per iteration in the patched')
        w('build whatever the series does: that is most of the "other" column.  The')
        w('"qcow2 code" column is the part that the series is responsible for.')
        w('')
    # function-level difference of the rewrite path
    for row in cg:
        fs = {}
        for impl in ('stock', 'patched'):
            per = {}
            for n, sign in ((E['CG_N0'], -1), (E['CG_N1'], 1)):
                path = os.path.join(work, 'cg-%s-%s-%s.txt' % (impl, n, row))
                for line in open(path):
                    m = re.match(r'\s*([\d,]+)\s+\(\s*[\d.]+%\)\s+(\S+?):(\S+)', line)
                    if m:
                        per[m.group(3)] = per.get(m.group(3), 0) + sign * int(m.group(1).replace(',', ''))
            fs[impl] = {k: v / (int(E['CG_N1']) - int(E['CG_N0'])) for k, v in per.items()}
        keys = sorted(set(fs['stock']) | set(fs['patched']),
                      key=lambda k: -abs(fs['patched'].get(k, 0) - fs['stock'].get(k, 0)))
        keys = [k for k in keys if abs(fs['patched'].get(k, 0) - fs['stock'].get(k, 0)) >= 1.0][:15]
        w('<details><summary>%s: functions whose self Ir/op differs (callgrind_annotate)</summary>' % cg_label[row])
        w('')
        w('| function | stock | patched | delta |')
        w('|---|---|---|---|')
        for k in keys:
            a, b = fs['stock'].get(k, 0), fs['patched'].get(k, 0)
            w('| `%s` | %.0f | %.0f | %+.0f |' % (k, a, b, b - a))
        w('')
        w('</details>')
        w('')
notes = [l.strip() for l in open(notes_f) if l.strip()]
if notes:
    w('## Notes from the run')
    w('')
    for n in notes:
        w('- ' + n)
    w('')
w('## Commands')
w('')
w('`IMG` is a 1 GiB qcow2 image (`qemu-img create -f qcow2 IMG 1G`, then')
w('`qemu-io -c "write -P 0xa5 0 1G" IMG`), so every cluster is allocated and')
w('every write is a rewrite.  qemu-img bench has no random mode: "scattered"')
w('rows use a stride of %d bytes (a prime number of 4K blocks), so request' % int(E['STRIDE']))
w('k goes to k * stride mod (1 GiB - 4K), every 4K block once per period.')
w('Each command runs with `build/stock/qemu-img` and `build/patched/qemu-img`.')
w('')
w('```')
for row, label, unit, better, target, cmd in meta:
    w('# %s' % label)
    w(cmd)
for row in cg:
    w('# callgrind: %s' % cg_label[row])
    w(cg_cmd[row])
w('```')
w('')
if any(m[0].startswith('mix') for m in meta):
    w('Discard mix (%s s per run after 1 s ramp, a fresh copy of IMG each run):' % E['MIX_RUNTIME'])
    w('')
    w('```')
    w('qemu-storage-daemon \\')
    w('  --blockdev driver=file,node-name=file0,filename=IMG,discard=unmap \\')
    w('  --blockdev driver=qcow2,node-name=fmt0,file=file0,discard=unmap \\')
    w('  --nbd-server addr.type=unix,addr.path=SOCK \\')
    w('  --export type=nbd,id=exp0,node-name=fmt0,name=disk,writable=on')
    w('NBD_URI="nbd+unix:///disk?socket=SOCK" fio --output-format=json mix.fio')
    w('# plus a python3-libnbd client for the same time: pwrite 64K then')
    w('# zero 64K (NBD_CMD_WRITE_ZEROES, unmap allowed) at random clusters of [768M, 1G)')
    w('```')
    w('')
    w('mix.fio (job "writes" is measured):')
    w('')
    w('```ini')
    for line in open(mix_fio):
        w(line.rstrip('\n'))
    w('```')
    w('')
if any(m[0] == 'convert-c' for m in meta):
    w('Convert source: %s MiB, 1 MiB chunks cycling through seeded random data,' % E['CONV_MIB'])
    w('zeroes and repetitive text, every cluster allocated (`qemu-img convert -S 0`')
    w('from raw); generated once into `$QS_CACHE/bench`, copied to tmpfs for the runs.')
    w('')
w('The ratios are plotted in [%s](%s).' % ((os.path.basename(svg_f),) * 2))
open(out_f, 'w').write('\n'.join(L) + '\n')

# --- SVG: median ratio per row, as horizontal bars around 1.0 ---
lo = min([0.95] + [r for _, r, _, _ in plot]) - 0.01
hi = max([1.05] + [r for _, r, _, _ in plot]) + 0.01
W, left, right, bh, top = 960, 430, 40, 26, 60
H = top + bh * len(plot) + 60
def x(v):
    return left + (v - lo) / (hi - lo) * (W - left - right)
S = []
a = S.append
a('<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">' % (W, H))
a('<rect width="100%" height="100%" fill="white"/>')
a('<text x="%d" y="22" font-size="15" font-weight="bold">patched / stock, median ratio per row (%s mode, %s)</text>' % (10, E['MODE'], html.escape(E['DATE_START'])))
a('<text x="%d" y="40" fill="#555">%s' % (10, 'Wall-clock rows taken while other work ran: indicative only. ' if busy else '') +
  'Green: target met or no target; orange: not resolved; red: target missed.</text>')
for v in [lo + (hi - lo) * i / 10 for i in range(11)]:
    a('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#eee"/>' % (x(v), top - 5, x(v), H - 45))
    a('<text x="%.1f" y="%d" text-anchor="middle" fill="#555">%.3f</text>' % (x(v), H - 30, v))
for i, (label, r, better, verdict) in enumerate(plot):
    y = top + i * bh
    col = {'MISSED': '#c0392b', 'not resolved': '#e67e22'}.get(verdict, '#27ae60')
    x0, x1 = sorted((x(1.0), x(r)))
    a('<rect x="%.1f" y="%d" width="%.1f" height="%d" fill="%s"/>' % (x0, y + 4, max(x1 - x0, 1), bh - 8, col))
    a('<text x="%d" y="%d" text-anchor="end">%s (%s is better)</text>' % (left - 8, y + bh - 9, html.escape(label), 'higher' if better == 'higher' else 'lower'))
    a('<text x="%.1f" y="%d" fill="#333">%.3f</text>' % (x1 + 4, y + bh - 9, r))
a('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="black" stroke-width="1.5"/>' % (x(1.0), top - 5, x(1.0), H - 45))
a('<text x="%.1f" y="%d" text-anchor="middle">ratio patched / stock</text>' % ((left + W - right) / 2, H - 10))
a('</svg>')
open(svg_f, 'w').write('\n'.join(S) + '\n')
print(open(out_f).read())
PYEOF
log "wrote $OUT and $SVG"
