"""
The report of the stock vs patched rows (docs/benchmarks.md and the SVG
docs/benchmark-ratios.svg), written from a directory of raw results.

    tools/bench.py report DIR [OUT]

DIR holds results.tsv, rows.tsv, callgrind.tsv, notes.txt, mix.fio, env.sh
and the callgrind_annotate outputs cg-IMPL-N-ROW.txt: qsbench.hot writes
them into its work directory and calls this on it, and BENCH_KEEP=DIR
keeps a copy, so that the report can be written again (after a change to
this module) without measuring again.  Directories kept by the old
tools/bench.sh have the same files and work too.  OUT defaults to
docs/benchmarks.md; the SVG goes next to it, as benchmark-ratios.svg (or
X-ratios.svg for X.md).

The one place of what every report writer shares (qsbench.env has the
machine's description, qsbench.stats the statistics):

    md_table(header, rows)            -> list of markdown lines
    write_out(path, text)             -> writes a report (and its directory)
    verdict(overhead, ci, limit)      -> 'met', 'not resolved', 'MISSED', '-'
    svg_header(w, h, title, subtitle) -> the first lines of every plot
    ratio_svg(bars, title, subtitle)  -> SVG text: one bar per Bar, around 1
    svg_path(out)                     -> where the SVG of report OUT goes
    read_env(path)                    -> the NAME=VALUE lines of an env.sh
    write_env(path, values)           -> writes them, as bash can source
    annotate_entries(lines)           -> (self Ir, file, function) of a
                                         callgrind_annotate output
    annotate_totals(lines)            -> (total Ir, Ir in block/qcow2*.c)
    callgrind_annotate(out, txt)      -> runs it, keeps its output in txt,
                                         returns annotate_totals of it
"""
import collections
import html
import math
import os
import re
import shlex
import subprocess
import sys

if __package__ in (None, ''):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from qsbench.env import DOCS, command_output, die, log, machine_rows  # noqa: E402
from qsbench.stats import ci_text, median_range, pairs_by_row, ratio_stats  # noqa: E402

# One function of `callgrind_annotate --auto=no` output: self Ir, file,
# function (see annotate_entries).
ANNOTATE_LINE = re.compile(r'\s*([\d,]+)\s+\(\s*[\d.]+%\)\s+(\S+?):(\S+)')

# Everything the report needs besides the tables, in env.sh (the names
# of tools/bench.sh's variables, so that kept directories of both work).
ENV_NAMES = ('HOT_PAIRS', 'HOT_MAX', 'HOT_CI', 'MIX_PAIRS', 'PIN', 'MODE',
             'PAIRS', 'DATE_START', 'TCG_STOCK', 'TCG_PATCHED', 'LOAD_START',
             'LOAD_HOT', 'LOAD_END', 'STRIDE', 'IMG_SIZE', 'CG_N0', 'CG_N1',
             'MIX_RUNTIME', 'CONV_MIB', 'QUICK')
RAW_FILES = ('results.tsv', 'rows.tsv', 'callgrind.tsv', 'notes.txt', 'env.sh')

# A row of rows.tsv: what is measured, which way is better, and the
# target: hot (overhead <= 1%), mix (ratio >= 0.98), control (A/A) or none
Row = collections.namedtuple('Row', 'id label unit better target command')
# A row of callgrind.tsv: Ir per request, all and in block/qcow2*.c only
CgRow = collections.namedtuple('CgRow', 'id impl ir qcow2 label command basis')
# A bar of the SVG
Bar = collections.namedtuple('Bar', 'label ratio better verdict')


# --- helpers for every report -----------------------------------------------

def md_table(header, rows):
    """A markdown table: header cells, then one list of cells per row
    (already formatted); an empty cell is written as '| |'."""
    def line(cells):
        return '|' + '|'.join(' %s ' % c if c != '' else ' ' for c in cells) + '|'
    return [line(header), '|' + '---|' * len(header)] + [line(r) for r in rows]


def write_out(path, text):
    """Write a report to path, making its directory if need be."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, 'w') as f:
        f.write(text)


def verdict(overhead, ci, limit):
    """A median beyond the limit is a miss only if the confidence interval
    is beyond it too; otherwise this machine cannot tell (see A/A)."""
    if limit is None:
        return '-'
    if overhead <= limit:
        return 'met'
    if not math.isnan(ci[0]) and ci[0] <= limit:
        return 'not resolved'
    return 'MISSED'


def svg_path(out):
    """docs/benchmarks.md -> docs/benchmark-ratios.svg, X.md -> X-ratios.svg"""
    if os.path.basename(out) == 'benchmarks.md':
        return os.path.join(os.path.dirname(out), 'benchmark-ratios.svg')
    return (out[:-3] if out.endswith('.md') else out) + '-ratios.svg'


def svg_header(width, height, title, subtitle):
    """The first lines of every plot of the reports: the document, a white
    background, a bold title and a grey subtitle (both markup: escaped by
    the caller)."""
    return ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
            'font-family="sans-serif" font-size="12">' % (width, height),
            '<rect width="100%" height="100%" fill="white"/>',
            '<text x="10" y="22" font-size="15" font-weight="bold">%s</text>' % title,
            '<text x="10" y="40" fill="#555">%s</text>' % subtitle]


def ratio_svg(bars, title, subtitle, axis='ratio patched / stock',
              width=960, left=430, right=40, bar_height=26, top=60):
    """
    Horizontal bars from 1.0 to each Bar's ratio (green: met or no target,
    orange: not resolved, red: MISSED), on an axis that always shows
    0.95-1.05; the text of the returned SVG document.
    """
    lo = min([0.95] + [b.ratio for b in bars]) - 0.01
    hi = max([1.05] + [b.ratio for b in bars]) + 0.01
    height = top + bar_height * len(bars) + 60

    def x(v):
        return left + (v - lo) / (hi - lo) * (width - left - right)
    s = svg_header(width, height, html.escape(title, quote=False),
                   html.escape(subtitle, quote=False))
    for v in [lo + (hi - lo) * i / 10 for i in range(11)]:
        s.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#eee"/>'
                 % (x(v), top - 5, x(v), height - 45))
        s.append('<text x="%.1f" y="%d" text-anchor="middle" fill="#555">%.3f</text>'
                 % (x(v), height - 30, v))
    for i, b in enumerate(bars):
        y = top + i * bar_height
        col = {'MISSED': '#c0392b', 'not resolved': '#e67e22'}.get(b.verdict, '#27ae60')
        x0, x1 = sorted((x(1.0), x(b.ratio)))
        s.append('<rect x="%.1f" y="%d" width="%.1f" height="%d" fill="%s"/>'
                 % (x0, y + 4, max(x1 - x0, 1), bar_height - 8, col))
        s.append('<text x="%d" y="%d" text-anchor="end">%s (%s is better)</text>'
                 % (left - 8, y + bar_height - 9, html.escape(b.label),
                    'higher' if b.better == 'higher' else 'lower'))
        s.append('<text x="%.1f" y="%d" fill="#333">%.3f</text>'
                 % (x1 + 4, y + bar_height - 9, b.ratio))
    s.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="black" stroke-width="1.5"/>'
             % (x(1.0), top - 5, x(1.0), height - 45))
    s.append('<text x="%.1f" y="%d" text-anchor="middle">%s</text>'
             % ((left + width - right) / 2, height - 10, html.escape(axis)))
    s.append('</svg>')
    return '\n'.join(s) + '\n'


def read_env(path):
    """NAME=VALUE lines, the values quoted as by bash's printf %q or
    shlex.quote."""
    env = {}
    with open(path) as f:
        for line in f:
            name, sep, value = line.rstrip('\n').partition('=')
            if sep:
                env[name] = ''.join(shlex.split(value))
    return env


def write_env(path, values):
    """The counterpart of read_env; bash can source the file too."""
    with open(path, 'w') as f:
        for name, value in values.items():
            f.write('%s=%s\n' % (name, shlex.quote(str(value))))


def annotate_entries(lines):
    """(self Ir, file, function) of every function of a
    `callgrind_annotate --auto=no` output (lines, as read)."""
    for line in lines:
        m = ANNOTATE_LINE.match(line)
        if m:
            yield int(m.group(1).replace(',', '')), m.group(2), m.group(3)


def annotate_totals(lines):
    """(total Ir, Ir of block/qcow2*.c) of a callgrind_annotate output:
    the whole cost of a run and the part of the code the series changes."""
    total = qcow2 = 0
    for ir, path, _ in annotate_entries(lines):
        total += ir
        if '/block/qcow2' in path:
            qcow2 += ir
    return total, qcow2


def callgrind_annotate(out, txt):
    """callgrind_annotate of the callgrind output file out into txt (kept:
    the reports' function breakdowns read it back) -> annotate_totals."""
    with open(txt, 'w') as f:
        rc = subprocess.run(['callgrind_annotate', '--auto=no', '--threshold=100', out],
                            stdout=f).returncode
    if rc:
        die('callgrind_annotate %s failed (exit %d)' % (out, rc))
    with open(txt) as f:
        return annotate_totals(f)


# --- this report ------------------------------------------------------------

def _tsv(path):
    with open(path) as f:
        return [line.rstrip('\n').split('\t') for line in f if line.strip()]


def fmt(v, unit):
    if unit in ('ops/s', 'IOPS'):
        return '{:,.0f}'.format(v)
    if unit == 's':
        return '%.2f' % v
    return '%.1f' % v


# target of rows.tsv -> (limit of the overhead in %, text of the target)
TARGETS = {
    'hot': (1.0, 'overhead <= 1%'),
    'mix': ((1 / 0.98 - 1) * 100, 'ratio >= 0.98'),
    'control': (None, 'A/A: the spread of identical builds'),
}


def wall_rows(meta, results):
    """The wall-clock rows that have complete pairs, with their stats and
    verdicts, in the order of rows.tsv."""
    vals = pairs_by_row(results)
    out = []
    for r in meta:
        pairs = vals.get(r.id, {})
        ps = [pairs[k] for k in sorted(pairs)
              if 'stock' in pairs[k] and 'patched' in pairs[k]]
        if not ps:
            continue
        ratios = [p['patched'] / p['stock'] for p in ps]
        st = ratio_stats(ratios, r.better)
        limit, target = TARGETS.get(r.target, (None, '-'))
        out.append(dict(row=r, stock=[p['stock'] for p in ps],
                        patched=[p['patched'] for p in ps], ratios=ratios,
                        stats=st, target=target,
                        verdict=verdict(st.overhead, st.ci, limit)))
    return out


def cg_functions(work, row, n0, n1):
    """Self Ir per request of every function, stock and patched, from the
    callgrind_annotate outputs of the two counts."""
    fs = {}
    for impl in ('stock', 'patched'):
        per = {}
        for n, sign in ((n0, -1), (n1, 1)):
            with open(os.path.join(work, 'cg-%s-%d-%s.txt' % (impl, n, row))) as f:
                for ir, _, fn in annotate_entries(f):
                    per[fn] = per.get(fn, 0) + sign * ir
        fs[impl] = {k: v / (n1 - n0) for k, v in per.items()}
    return fs


def render(work, svg_name):
    """The markdown and SVG texts of the report of raw directory work."""
    meta = [Row(*r) for r in _tsv(os.path.join(work, 'rows.tsv'))]
    results = _tsv(os.path.join(work, 'results.tsv'))
    E = read_env(os.path.join(work, 'env.sh'))
    with open(os.path.join(work, 'notes.txt')) as f:
        notes = [line.strip() for line in f if line.strip()]
    cg = {}
    for r in _tsv(os.path.join(work, 'callgrind.tsv')):
        c = CgRow(*r)
        cg.setdefault(c.id, {})[c.impl] = c

    rows = wall_rows(meta, results)
    plot = [Bar(w['row'].label, w['stats'].median, w['row'].better, w['verdict'])
            for w in rows]

    L = []
    w = L.append
    w('# Benchmarks: stock vs patched qcow2')
    w('')
    w('Generated by `tools/bench.py hot` (%s mode; every wall-clock row starts '
      'with one warm-up pair).' % E['MODE'])
    w('Do not edit by hand: rerun the script.')
    w('')
    # The NBD mix and convert rows keep both CPUs busy themselves: the load
    # at the end says nothing about other work, the load at the start and
    # after the qemu-img bench rows (which keep one CPU busy) does.
    loads = [E['LOAD_START']] + ([E['LOAD_HOT']] if E.get('LOAD_HOT') else [])
    busy = max(float(ld.split()[0]) for ld in loads) >= 1.5
    w('> Taken %s; load average %s at the start, %s after the qemu-img bench' % (
        E['DATE_START'], E['LOAD_START'], E.get('LOAD_HOT') or 'not recorded'))
    w('> rows, %s at the end (the NBD mix and convert rows load both CPUs).'
      % E['LOAD_END'])
    if busy:
        w('> **Other work was running on the machine** (1-minute load >= 1.5 at the')
        w('> start or after the qemu-img bench rows): the wall-clock rows are')
        w('> indicative only.')
    else:
        w('> Nothing else ran on the machine (1-minute load below 1.5; the benchmark')
        w('> itself keeps about one CPU busy).')
    if cg:
        w('> The callgrind rows count instructions and do not depend on the load.')
    w('')
    w('## Machine')
    w('')
    L += md_table(['', ''], [list(kv) for kv in machine_rows() + [
        ('QEMU', '10.2.2 (Debian 1:10.2.2+ds-1); stock = `build/stock`, '
                 'patched = `build/patched`'),
        ('fio', command_output(['fio', '--version'])),
        ('valgrind', command_output(['valgrind', '--version'])),
        ('images', 'tmpfs (`/dev/shm`), qcow2, 64 KiB clusters, cache=writeback '
                   '(tmpfs has no O_DIRECT)')]])
    w('')
    w('## Wall clock (stock and patched alternately, A B B A A B ...)')
    w('')
    w('Median and min-max over the measured runs; ratio = patched / stock of the')
    w('same pair; overhead > 0 means patched is slower (from the median ratio),')
    w('with the distribution-free 95% confidence interval of the median.')
    kinds = set(r.target for r in meta)
    if int(E['HOT_MAX']) > int(E['HOT_PAIRS']):
        hot = ('at least %s pairs, then more in blocks of 25 until the confidence '
               'interval of the overhead is at most %s points wide (at most %s pairs; '
               'the rule looks at the width only, not at where the median lies)'
               % (E['HOT_PAIRS'], E['HOT_CI'], E['HOT_MAX']))
    else:
        hot = '%s pairs' % E['HOT_PAIRS']
    if kinds & {'hot', 'control'}:
        w('The qemu-img bench rows: short runs (%s), %s,' % (
            'about 0.2-0.3 s' if E['MODE'] == 'full' else 'quick mode', hot))
        w('`qemu-img bench` pinned to CPU %s with taskset (see the comments in' % E['PIN'])
        w('`tools/qsbench/hot.py`).')
    if any(r.id.startswith('mix') for r in meta):
        w('The NBD mix rows: %s pairs.' % E['MIX_PAIRS'])
    if any(r.id == 'convert-c' for r in meta):
        w('The convert row: %s pairs.' % E['PAIRS'])
    w('Which build runs first alternates from pair to pair.')
    if any(r['target'].startswith('A/A') for r in rows):
        w('The A/A control row runs the stock build in both places of every pair:')
        w('its ratios are what this machine makes of two identical builds, the')
        w('noise floor against which the other rows must be read.')
    w('')
    table = []
    for r in rows:
        unit, st = r['row'].unit, r['stats']
        table.append([
            '%s [%s]' % (r['row'].label, unit),
            'higher' if r['row'].better == 'higher' else 'lower',
            median_range(r['stock'], lambda v: fmt(v, unit)),
            median_range(r['patched'], lambda v: fmt(v, unit)),
            '%d' % len(r['ratios']), '**%.3f**' % st.median, '%+.1f%%' % st.overhead,
            ci_text(st.ci, '%+.1f%% to %+.1f%%', 'n/a (too few pairs)'),
            r['target'], r['verdict']])
    L += md_table(['row', 'better', 'stock median (min-max)', 'patched median (min-max)',
                   'pairs', 'median ratio', 'overhead', '95% CI of the overhead',
                   'target', ''], table)
    w('')
    if any(r['verdict'] == 'not resolved' for r in rows):
        w('"not resolved": the median misses the target, but the confidence interval')
        w('reaches it: the difference is below what this machine can resolve (compare')
        w('the A/A row); "MISSED" would need the whole interval beyond the target.')
        w('')
    w('<details><summary>ratio of every pair, in run order</summary>')
    w('')
    for r in rows:
        w('- %s: %s' % (r['row'].label, ' '.join('%.3f' % x for x in r['ratios'])))
    w('')
    w('</details>')
    w('')
    if cg:
        n0, n1 = int(E['CG_N0']), int(E['CG_N1'])
        w('## Instructions per operation (callgrind, deterministic)')
        w('')
        w('Marginal cost of one request: (Ir of %d requests - Ir of %d requests) / %d,'
          % (n1, n0, n1 - n0))
        w('so that start-up and exit do not count.  "qcow2 code" is the self cost of')
        w('the functions in `block/qcow2*.c` (where the series changes code); "other"')
        w('is the rest of the difference.  The target (<= 1%) is checked against both')
        w('the whole difference and the qcow2 part alone.')
        w('')
        table = []
        for row, c in cg.items():
            s = (int(c['stock'].ir), int(c['stock'].qcow2))
            p = (int(c['patched'].ir), int(c['patched'].qcow2))
            d = (p[0] - s[0]) / s[0] * 100
            dq = (p[1] - s[1]) / s[0] * 100
            label = c['stock'].label
            if c['stock'].basis == 'total':
                vt = 'met' if d <= 1.0 else 'MISSED'
                plot.append(Bar('callgrind: %s [Ir/op]' % label, p[0] / s[0], 'lower', vt))
            else:
                vt = '- (see below)'
                plot.append(Bar('callgrind, qcow2 code: %s [Ir/op]' % label, 1 + dq / 100,
                                'lower', 'met' if dq <= 1.0 else 'MISSED'))
            table.append([label, '%d' % s[0], '%d' % p[0], '%+.2f%%' % d, '%d' % s[1],
                          '%d' % p[1], '%+d (%+.2f%%)' % (p[1] - s[1], dq),
                          '%+d' % ((p[0] - s[0]) - (p[1] - s[1])),
                          vt, 'met' if dq <= 1.0 else 'MISSED'])
        L += md_table(['row', 'stock Ir/op', 'patched Ir/op', 'delta', 'qcow2 code: stock',
                       'patched', 'delta (% of stock total)', 'other delta',
                       'target: total', 'target: qcow2 part'], table)
        w('')
        if any(c['stock'].basis != 'total' for c in cg.values()):
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
            w('The two builds are not configured alike: TCG is %s in `build/stock`'
              % E['TCG_STOCK'])
            w('(tools only) and %s in `build/patched` (which also builds' % E['TCG_PATCHED'])
            w('qemu-system-x86_64).  With CONFIG_TCG, `icount_enabled()` reads a variable')
            w('instead of being the constant ICOUNT_DISABLED, so the main loop\'s timer')
            w('code (`timerlistgroup_deadline_ns`, `qemu_clock_get_ns`,')
            w('`qemu_clock_run_all_timers`) costs more per iteration in the patched')
            w('build whatever the series does: that is most of the "other" column.  The')
            w('"qcow2 code" column is the part that the series is responsible for.')
            w('')
        # the functions whose cost differs, per row
        for row, c in cg.items():
            fs = cg_functions(work, row, n0, n1)

            def delta(k):
                return fs['patched'].get(k, 0) - fs['stock'].get(k, 0)
            # by name first, so that equal deltas come in a fixed order
            keys = sorted(sorted(set(fs['stock']) | set(fs['patched'])),
                          key=lambda k: -abs(delta(k)))
            keys = [k for k in keys if abs(delta(k)) >= 1.0][:15]
            w('<details><summary>%s: functions whose self Ir/op differs '
              '(callgrind_annotate)</summary>' % c['stock'].label)
            w('')
            L += md_table(['function', 'stock', 'patched', 'delta'],
                          [['`%s`' % k, '%.0f' % fs['stock'].get(k, 0),
                            '%.0f' % fs['patched'].get(k, 0), '%+.0f' % delta(k)]
                           for k in keys])
            w('')
            w('</details>')
            w('')
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
    w('rows use a stride of %d bytes (a prime number of 4K blocks), so request'
      % int(E['STRIDE']))
    w('k goes to k * stride mod (1 GiB - 4K), every 4K block once per period.')
    w('Each command runs with `build/stock/qemu-img` and `build/patched/qemu-img`.')
    w('')
    w('```')
    for r in meta:
        w('# %s' % r.label)
        w(r.command)
    for c in cg.values():
        w('# callgrind: %s' % c['stock'].label)
        w(c['stock'].command)
    w('```')
    w('')
    if any(r.id.startswith('mix') for r in meta):
        w('Discard mix (%s s per run after 1 s ramp, a fresh copy of IMG each run):'
          % E['MIX_RUNTIME'])
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
        with open(os.path.join(work, 'mix.fio')) as f:
            L += [line.rstrip('\n') for line in f]
        w('```')
        w('')
    if any(r.id == 'convert-c' for r in meta):
        w('Convert source: %s MiB, 1 MiB chunks cycling through seeded random data,'
          % E['CONV_MIB'])
        w('zeroes and repetitive text, every cluster allocated (`qemu-img convert -S 0`')
        w('from raw); generated once into `$QS_CACHE/bench`, copied to tmpfs for the runs.')
        w('')
    w('The ratios are plotted in [%s](%s).' % (svg_name, svg_name))

    svg = ratio_svg(
        plot,
        'patched / stock, median ratio per row (%s mode, %s)' % (E['MODE'], E['DATE_START']),
        ('Wall-clock rows taken while other work ran: indicative only. ' if busy else '')
        + 'Green: target met or no target; orange: not resolved; red: target missed.')
    return '\n'.join(L) + '\n', svg


def write_report(work, out):
    """Write the report of raw directory work to out and its SVG next to
    it; print the report (as tools/bench-report.sh did)."""
    for f in RAW_FILES:
        if not os.path.isfile(os.path.join(work, f)):
            die('%s is missing' % os.path.join(work, f))
    svg = svg_path(out)
    text, svg_text = render(work, os.path.basename(svg))
    write_out(out, text)
    write_out(svg, svg_text)
    print(text)
    log('wrote %s and %s' % (out, svg))


def main(argv):
    if not 1 <= len(argv) <= 2:
        die('usage: bench.py report DIR [OUT]')
    write_report(argv[0], argv[1] if len(argv) > 1 else os.path.join(DOCS, 'benchmarks.md'))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
