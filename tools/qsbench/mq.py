"""
Multiqueue row: one qcow2 node driven from 1, 2 and 4 iothreads at once,
stock vs patched, in requests per second.

Why: the series takes in-flight references under s->lock and counts them
in shared counters; a reviewer wants to see that this does not serialize
threads that send requests to one node more than stock does.

How: QEMU 10.2 has no export that spreads one node over several
iothreads (block-export-add with iothread= moves the node, and every
export of it, into that one iothread; only virtio-blk's
iothread-vq-mapping spreads a node, and that needs a booted guest).  Its
block layer takes requests from any thread, though, as the series'
multi-iothread unit stress test shows.  So the row compiles
tools/qsbench/mqbench.c against each build directory (the compiler flags
and libraries of that build's tests/unit/test-bdrv-drain, from
compile_commands.json and build.ninja; the program uses the same public
API as the unit tests), and runs it: one BlockBackend on a qcow2 image on
/dev/shm, N iothreads with IODEPTH coroutines each, 4K requests until
the run's time is up.  It prints the requests of each iothread, so the
report shows that every iothread did its share.

Environment: BENCH_MQ_OUT (report, default docs/benchmarks-mq.md; the SVG
plot goes next to it), BENCH_MQ_QUICK=1 (smoke mode: 1 pair of 1 s runs,
a 64 MiB image), BENCH_MQ_PAIRS (default 6), BENCH_MQ_SECONDS (default
5), BENCH_MQ_THREADS (default "1 2 4", each 1 to 8).
"""
import collections
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

if __package__ in (None, ''):
    sys.path.insert(0, os.path.dirname(os.path.dirname(
        os.path.realpath(__file__))))
from qsbench import env, stats  # noqa: E402
from qsbench.report import md_table, svg_header, write_out  # noqa: E402

IMPLS = (('stock', env.STOCK), ('patched', env.PATCHED))
# copied out of the build directories before the first run, so that a
# rebuild during the session cannot change what is measured
TOOLS = ('qemu-img', 'qemu-io')
SOURCE = os.path.join(os.path.dirname(os.path.realpath(__file__)),
                      'mqbench.c')
# The unit test whose compiler flags and libraries mqbench borrows
TEMPLATE = 'tests/unit/test-bdrv-drain'
CLUSTER = 64 * 1024
ALLOC_MIB = 64 * 1024           # virtual size of the empty image
IODEPTH = 32                    # coroutines per iothread
MAX_THREADS = 8

# The rows.  image: 'full' = every cluster allocated by a first pass (the
# same image is reused, rewrites and reads do not change its allocation),
# 'empty' = a new empty image per run.  cap: at most that many requests
# per run, shared by all threads (0: no cap).  Each allocating request
# writes 4K into a new 64K cluster, which takes a whole cluster of
# /dev/shm (qcow2 writes the rest of the cluster as zeroes there), so the
# row stops at the runtime or after 12288 requests (768 MiB).
Workload = collections.namedtuple('Workload', 'name title image cap')
WORKLOADS = (
    Workload('rewrite', '4K random rewrites of allocated clusters', 'full',
             0),
    Workload('read', '4K random reads of allocated clusters', 'full', 0),
    Workload('alloc', '4K allocating writes into an empty image (one '
             'new 64K cluster per request)', 'empty',
             768 * 1024 * 1024 // CLUSTER),
)

Settings = collections.namedtuple(
    'Settings', 'quick pairs seconds threads full_mib out svg')


def settings():
    """The environment of the row, with the quick (smoke) defaults."""
    quick = os.environ.get('BENCH_MQ_QUICK', '') not in ('', '0')
    threads = os.environ.get('BENCH_MQ_THREADS', '1 2 4').split()
    if not threads or not all(t.isdigit() and 1 <= int(t) <= MAX_THREADS
                              for t in threads):
        env.die('BENCH_MQ_THREADS must list numbers from 1 to %d'
                % MAX_THREADS)
    out = os.environ.get('BENCH_MQ_OUT',
                         os.path.join(env.DOCS, 'benchmarks-mq.md'))
    return Settings(quick=quick,
                    pairs=env.env_int('BENCH_MQ_PAIRS', 1 if quick else 6),
                    seconds=env.env_int('BENCH_MQ_SECONDS',
                                        1 if quick else 5),
                    threads=sorted(set(int(t) for t in threads)),
                    full_mib=64 if quick else 512,
                    out=out, svg=os.path.splitext(out)[0] + '.svg')


def link_statement(build):
    """The explicit inputs and LINK_ARGS of TEMPLATE in build.ninja."""
    with open(os.path.join(build, 'build.ninja')) as f:
        lines = iter(f.read().split('\n'))
    for line in lines:
        if line.startswith('build %s: c_LINKER ' % TEMPLATE):
            inputs = line.split(': c_LINKER ', 1)[1].split(' | ')[0]
            link_args = next(lines).strip()
            if not link_args.startswith('LINK_ARGS = '):
                break
            return (shlex.split(inputs),
                    shlex.split(link_args[len('LINK_ARGS = '):]))
    env.die('no link statement for %s in %s/build.ninja' % (TEMPLATE, build))


def build_mqbench(build, out):
    """Compile and link mqbench.c as if it were TEMPLATE of build."""
    with open(os.path.join(build, 'compile_commands.json')) as f:
        cmds = [c for c in json.load(f)
                if c['file'].endswith('/%s.c' % TEMPLATE)]
    if not cmds:
        env.die('%s is not in %s/compile_commands.json' % (TEMPLATE, build))
    own_obj = '%s.p/%s.c.o' % (TEMPLATE, os.path.basename(TEMPLATE))
    inputs, link_args = link_statement(build)
    # Everything the link needs, except the template's own object
    deps = [i for i in inputs if i != own_obj]
    deps += [a for a in link_args if a.endswith('.a') and
             not a.startswith('/')]
    r = subprocess.run(['ninja', '-C', build] + deps, capture_output=True,
                       text=True)
    if r.returncode != 0:
        env.die('building what mqbench links with in %s failed:\n%s'
                % (build, r.stdout[-2000:]))
    argv = shlex.split(cmds[0]['command'])
    obj = out + '.o'
    i = argv.index('-c')
    argv[i + 1] = SOURCE
    argv[argv.index('-o') + 1] = obj
    # no dependency file
    for flag in ('-MD', '-MQ', '-MF'):
        while flag in argv:
            j = argv.index(flag)
            del argv[j:j + (1 if flag == '-MD' else 2)]
    for cmd in (argv, ['cc', '-m64', '-o', out, obj] + deps + link_args):
        r = subprocess.run(cmd, cwd=cmds[0]['directory'],
                           capture_output=True, text=True)
        if r.returncode != 0:
            env.die('building mqbench against %s failed:\n%s'
                    % (build, r.stderr[-3000:]))
    os.remove(obj)
    return out


def prepare(scratch):
    """{impl: {tool: path}} of private copies of the tools and of mqbench,
    and their sha256."""
    bins, sums = {}, {}
    for impl, build in IMPLS:
        d = os.path.join(scratch, 'bin-' + impl)
        os.makedirs(d)
        bins[impl] = {}
        for tool in TOOLS:
            dst = os.path.join(d, os.path.basename(tool))
            shutil.copy2(os.path.join(build, tool), dst)
            bins[impl][os.path.basename(tool)] = dst
        bins[impl]['mqbench'] = build_mqbench(build,
                                              os.path.join(d, 'mqbench'))
        for tool, path in bins[impl].items():
            sums[(impl, tool)] = env.sha256(path)
    return bins, sums


def make_image(bins, path, mib, fill):
    """A qcow2 image with 64K clusters, every cluster written if fill."""
    subprocess.run([bins['qemu-img'], 'create', '-q', '-f', 'qcow2',
                    '-o', 'cluster_size=%d' % CLUSTER, path, '%dM' % mib],
                   check=True)
    if fill:
        subprocess.run([bins['qemu-io'], '-f', 'qcow2', '-c',
                        'write -q -P 0x5a 0 %dM' % mib, path], check=True)


def measure(impl, bins, wl, n, s, scratch, full_image):
    """One run: requests per second over all threads, CPU time per
    request, and the requests of each iothread."""
    work = tempfile.mkdtemp(prefix='%s-%s-%d.' % (impl, wl.name, n),
                            dir=scratch)
    if wl.image == 'full':
        image = full_image
    else:
        image = os.path.join(work, 'empty.qcow2')
        make_image(bins, image, ALLOC_MIB, False)
    argv = [bins['mqbench'], image, wl.name, str(n), str(IODEPTH),
            str(s.seconds), str(wl.cap)]
    r = subprocess.run(argv, capture_output=True, text=True,
                       timeout=s.seconds * 10 + 60)
    if r.returncode != 0:
        env.die('%s failed (%d): %s' % (' '.join(argv), r.returncode,
                                        (r.stderr + r.stdout)[-2000:]))
    res = json.loads(r.stdout.strip().splitlines()[-1])
    if res['errors'] or res['requests'] <= 0 or res['seconds'] <= 0:
        env.die('%s reported %s' % (' '.join(argv), res))
    if wl.image == 'empty':
        res['image_mib'] = os.stat(image).st_blocks * 512 / (1 << 20)
    shutil.rmtree(work)
    res['rps'] = res['requests'] / res['seconds']
    res['us_per_req'] = res['cpu_seconds'] * 1e6 / res['requests']
    return res


def shares(runs):
    """Each iothread's share of the requests, over all runs of a
    configuration: that every thread did work at the same time."""
    total = None
    for _, r in runs:
        pt = r['per_thread']
        total = pt if total is None else [a + b for a, b in zip(total, pt)]
    whole = sum(total)
    return ' / '.join('%.0f%%' % (100.0 * t / whole) for t in total)


def svg_plot(s, results, stamp):
    """req/s against the number of exports/iothreads, one panel per
    workload, stock and patched medians (hand-written SVG)."""
    colors = {'stock': '#7f8c8d', 'patched': '#e67e22'}
    pw, ph, left, top = 300, 220, 60, 60
    width = left + len(WORKLOADS) * (pw + 40) + 20
    height = top + ph + 70
    out = svg_header(width, height,
                     'one qcow2 node, requests from N iothreads at once: '
                     'median req/s (%s)' % stamp,
                     'grey: stock, orange: patched; %d coroutines per '
                     'iothread, 4K requests' % IODEPTH)
    for k, wl in enumerate(WORKLOADS):
        x0 = left + k * (pw + 40)
        meds = {(impl, n): stats.median([p[impl] for p in results[wl.name, n]])
                for n in s.threads for impl, _ in IMPLS}
        ymax = max(meds.values()) * 1.15 or 1.0
        xs = {n: x0 + (pw * (i + 0.5) / len(s.threads))
              for i, n in enumerate(s.threads)}

        def y(v):
            return top + ph - ph * v / ymax
        out.append('<rect x="%d" y="%d" width="%d" height="%d" fill="none" '
                   'stroke="#ccc"/>' % (x0, top, pw, ph))
        out.append('<text x="%d" y="%d" font-weight="bold">%s</text>'
                   % (x0, top - 6, wl.name))
        for t in range(5):
            v = ymax * t / 4
            out.append('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" '
                       'stroke="#eee"/>' % (x0, y(v), x0 + pw, y(v)))
            out.append('<text x="%d" y="%.1f" text-anchor="end" '
                       'fill="#555">%.0f</text>' % (x0 - 4, y(v) + 4, v))
        for n, x in xs.items():
            out.append('<text x="%.1f" y="%d" text-anchor="middle" '
                       'fill="#555">%d</text>' % (x, top + ph + 16, n))
        out.append('<text x="%.1f" y="%d" text-anchor="middle">'
                   'iothreads</text>' % (x0 + pw / 2, top + ph + 34))
        for impl, _ in IMPLS:
            pts = ' '.join('%.1f,%.1f' % (xs[n], y(meds[impl, n]))
                           for n in s.threads)
            out.append('<polyline points="%s" fill="none" stroke="%s" '
                       'stroke-width="2"/>' % (pts, colors[impl]))
            for n in s.threads:
                out.append('<circle cx="%.1f" cy="%.1f" r="3.5" fill="%s"/>'
                           % (xs[n], y(meds[impl, n]), colors[impl]))
    out.append('</svg>')
    return '\n'.join(out) + '\n'


def cells(pairs, fmt):
    """Median of each build, median patched/stock ratio and its CI."""
    ratios = stats.pair_ratios(pairs)
    return [fmt % stats.median([p['stock'] for p in pairs]),
            fmt % stats.median([p['patched'] for p in pairs]),
            '%.3f' % stats.median(ratios),
            stats.ci_text(stats.median_ci(ratios), '%.3f - %.3f',
                          'n/a (< 6 pairs)')]


def report(s, results, costs, runs, sums, started, elapsed, load):
    """The markdown report; load: the 1-minute load averages at the start
    and at the end (the machine may be shared, and the load says how much
    to trust the medians)."""
    stamp = env.utc_stamp(started)
    cores = os.cpu_count()
    svg = os.path.basename(s.svg)
    L = ['# Multiqueue: one qcow2 node from 1, 2 and 4 iothreads, '
         'stock vs patched', '',
         'Generated by `tools/bench.py mq`; do not edit by hand.  Taken %s '
         '(%s mode), %d pair(s) of runs per configuration, %d s per run; '
         'the row ran %d min %02d s; load average %.1f at the start, %.1f '
         'at the end.'
         % (stamp, 'quick' if s.quick else 'full', s.pairs, s.seconds,
            elapsed // 60, elapsed % 60, load[0], load[1]), '',
         'Setup: `tools/qsbench/mqbench.c`, compiled against each build '
         'directory with the flags and libraries of its unit tests (sha256 '
         'below), opens one qcow2 image (64K clusters, on /dev/shm, '
         '`aio=threads`) with one BlockBackend, starts N iothreads and %d '
         'coroutines in each, and sends 4K requests from all of them to '
         'the node at once until the run\'s time is up: what a '
         'virtio-blk device with `iothread-vq-mapping` does, without a '
         'guest.  (QEMU 10.2 has no export that spreads one node over '
         'several iothreads: `block-export-add` with `iothread` moves the '
         'node and all its exports into that one iothread.)  Rewrites and '
         'reads use a %d MiB image whose every cluster a first pass wrote; '
         'the allocating row a new empty %d GiB image per run.  Runs '
         'alternate between the builds (stock first in even pairs, patched '
         'first in odd ones).  Ratio: the median of the per-pair '
         'patched/stock ratios with its 95%% confidence interval (order '
         'statistics; none below 6 pairs).  req/s: higher is better.  CPU '
         'us/req: the CPU time of the whole process (getrusage) during the '
         'run per request, lower is better.  Per-thread share: the '
         'requests of each iothread over all runs of the configuration, '
         'so that every thread is seen to work at the same time.'
         % (IODEPTH, s.full_mib, ALLOC_MIB // 1024), '',
         'This machine has %d CPU core(s).  With more iothreads than '
         'cores the threads take turns on the CPUs, so the rows show '
         'relative serialization (patched against stock at the same N), '
         'not scaling.  The machine may be shared: compare the builds '
         'within a row, not rows across reports.' % cores, '',
         '![req/s against the number of iothreads](%s)' % svg, '']
    for wl in WORKLOADS:
        L += ['## %s' % wl.title, '']
        if wl.cap:
            L += ['At most %d requests per run, shared by its threads.'
                  % wl.cap, '']
        L += md_table(
            ['iothreads', 'stock req/s', 'patched req/s',
             'patched/stock', '95% CI', 'stock CPU us/req',
             'patched CPU us/req', 'patched/stock', '95% CI', 'pairs',
             'per-thread share'],
            [[str(n)] + cells(results[wl.name, n], '%.0f')
             + cells(costs[wl.name, n], '%.1f')
             + [str(len(results[wl.name, n])), shares(runs[wl.name, n])]
             for n in s.threads])
        L.append('')
    L += ['## Binaries', '']
    L += md_table(['build', 'file', 'sha256'],
                  [[impl, tool, '`%s`' % h]
                   for (impl, tool), h in sorted(sums.items())])
    return '\n'.join(L) + '\n', stamp


def main(argv):
    if argv:
        sys.stderr.write(__doc__.lstrip())
        return 2
    s = settings()
    env.need_builds()
    started, load = time.time(), [float(env.loadavg(1))]
    scratch = tempfile.mkdtemp(prefix='qcow2-bench-mq.', dir='/dev/shm')
    try:
        bins, sums = prepare(scratch)
        full = os.path.join(scratch, 'full.qcow2')
        make_image(bins['stock'], full, s.full_mib, True)
        results = collections.defaultdict(list)   # (row, n) -> [{impl: rps}]
        costs = collections.defaultdict(list)     # ... [{impl: CPU us/req}]
        runs = collections.defaultdict(list)      # (row, n) -> [(impl, res)]
        for p in range(s.pairs):
            order = IMPLS if p % 2 == 0 else IMPLS[::-1]
            for wl in WORKLOADS:
                for n in s.threads:
                    pair, cost = {}, {}
                    for impl, _ in order:
                        res = measure(impl, bins[impl], wl, n, s, scratch,
                                      full)
                        pair[impl] = res['rps']
                        cost[impl] = res['us_per_req']
                        runs[wl.name, n].append((impl, res))
                    results[wl.name, n].append(pair)
                    costs[wl.name, n].append(cost)
                    env.log('pair %d/%d %s N=%d: stock %.0f, patched %.0f '
                            'req/s, %.1f and %.1f CPU us/req'
                            % (p + 1, s.pairs, wl.name, n, pair['stock'],
                               pair['patched'], cost['stock'],
                               cost['patched']))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    elapsed = int(time.time() - started)
    load.append(float(env.loadavg(1)))
    text, stamp = report(s, results, costs, runs, sums, started, elapsed,
                         load)
    write_out(s.out, text)
    write_out(s.svg, svg_plot(s, results, stamp))
    env.log('wrote %s and %s' % (s.out, s.svg))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
