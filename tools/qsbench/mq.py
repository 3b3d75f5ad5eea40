"""
Multiqueue row: one qcow2 node served to 1, 2 and 4 NBD clients at once,
each through its own export that asks for its own iothread, stock vs
patched, in requests per second.

Why: the series takes in-flight references under s->lock and counts them
in shared counters; a reviewer wants to see that this does not serialize
concurrent requesters of one node more than stock does.  The row therefore
runs qemu-storage-daemon (the copied binaries of each build) with N
iothread objects, one qcow2 node on /dev/shm and N NBD exports of that node
(export i with iothread=iot<i>), and drives every export with one fio job
(ioengine=nbd, 4K, iodepth 32).

What QEMU 10.2 makes of that: a block node has one AioContext.
block-export-add with iothread= moves the node, and with it every export
of the node that is not fixed-iothread, into the named iothread, so the N
exports all end up in the last one (with fixed-iothread=on the second
export is refused: "Cannot change iothread of active block backend").
Exports that really spread one node over several iothreads only come after
10.2 (BlockExportOptions.iothread as a list).  The row measures what 10.2
can do and records where the work ran: every iothread is added through QMP
one at a time, so the thread that appears is that iothread's, and the CPU
time of every iothread is read from /proc/PID/task/TID/stat around the fio
run.  The report states the observed placement per configuration.

Environment: BENCH_MQ_OUT (report, default docs/benchmarks-mq.md; the SVG
plot goes next to it), BENCH_MQ_QUICK=1 (smoke mode: 1 pair of 1 s runs,
no ramp, a 64 MiB image), BENCH_MQ_PAIRS (default 6), BENCH_MQ_SECONDS
(default 5, plus 1 s of ramp), BENCH_MQ_THREADS (default "1 2 4", each
1 to 4).
"""
import collections
import json
import os
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
TOOLS = ('storage-daemon/qemu-storage-daemon', 'qemu-img', 'qemu-io')
CLUSTER = 64 * 1024
ALLOC_MIB = 64 * 1024           # virtual size of the empty image
IODEPTH = 32
MAX_EXPORTS = 4                 # the allocating row splits its image in 4

# The rows.  image: 'full' = every cluster allocated by a first pass (the
# same image is reused, rewrites and reads do not change its allocation),
# 'empty' = a new empty image per run.  fio: the job options of the row;
# ramp: whether the run starts with the ramp time of the mode; cap: at
# most that many requests per run, shared by its jobs (0: no cap).
# The allocating row writes 4K and skips 60K (rw=write:60k), so every
# request allocates a new cluster in its job's quarter of the image; each
# allocation takes a whole 64K cluster of /dev/shm (qcow2 writes the rest
# of the cluster as zeroes there), so the row is not time_based: it stops
# at the runtime or after 12288 requests (768 MiB), whichever comes first,
# and needs no ramp (allocating into an empty image is steady at once).
Workload = collections.namedtuple('Workload',
                                  'name title image fio ramp cap')
WORKLOADS = (
    Workload('rewrite', '4K random rewrites of allocated clusters', 'full',
             {'rw': 'randwrite', 'norandommap': '1', 'time_based': '1'},
             True, 0),
    Workload('read', '4K random reads of allocated clusters', 'full',
             {'rw': 'randread', 'norandommap': '1', 'time_based': '1'},
             True, 0),
    Workload('alloc', '4K allocating writes into an empty image (one '
             'new 64K cluster per request)', 'empty',
             {'rw': 'write:%dk' % ((CLUSTER - 4096) // 1024)}, False,
             768 * 1024 * 1024 // CLUSTER),
)

Settings = collections.namedtuple(
    'Settings', 'quick pairs seconds ramp threads full_mib out svg')


def settings():
    """The environment of the row, with the quick (smoke) defaults."""
    quick = os.environ.get('BENCH_MQ_QUICK', '') not in ('', '0')
    threads = os.environ.get('BENCH_MQ_THREADS', '1 2 4').split()
    if not threads or not all(t.isdigit() and 1 <= int(t) <= MAX_EXPORTS
                              for t in threads):
        env.die('BENCH_MQ_THREADS must list numbers from 1 to %d'
                % MAX_EXPORTS)
    out = os.environ.get('BENCH_MQ_OUT',
                         os.path.join(env.DOCS, 'benchmarks-mq.md'))
    return Settings(quick=quick,
                    pairs=env.env_int('BENCH_MQ_PAIRS', 1 if quick else 6),
                    seconds=env.env_int('BENCH_MQ_SECONDS',
                                        1 if quick else 5),
                    ramp=0 if quick else 1,
                    threads=sorted(set(int(t) for t in threads)),
                    full_mib=64 if quick else 512,
                    out=out, svg=os.path.splitext(out)[0] + '.svg')


def copy_binaries(scratch):
    """{impl: {tool: path}} of private copies, and their sha256."""
    bins, sums = {}, {}
    for impl, build in IMPLS:
        d = os.path.join(scratch, 'bin-' + impl)
        os.makedirs(d)
        bins[impl] = {}
        for tool in TOOLS:
            dst = os.path.join(d, os.path.basename(tool))
            shutil.copy2(os.path.join(build, tool), dst)
            bins[impl][os.path.basename(tool)] = dst
            sums[(impl, os.path.basename(tool))] = env.sha256(dst)
    return bins, sums


def make_image(bins, path, mib, fill):
    """A qcow2 image with 64K clusters, every cluster written if fill."""
    subprocess.run([bins['qemu-img'], 'create', '-q', '-f', 'qcow2',
                    '-o', 'cluster_size=%d' % CLUSTER, path, '%dM' % mib],
                   check=True)
    if fill:
        subprocess.run([bins['qemu-io'], '-f', 'qcow2', '-c',
                        'write -q -P 0x5a 0 %dM' % mib, path], check=True)


def cpu_ticks(pid):
    """{tid: utime + stime} of the threads of pid, and the process total
    (which keeps the time of threads that have exited)."""
    def ticks(statfile):
        with open(statfile) as f:
            fields = f.read().rsplit(')', 1)[1].split()
        return int(fields[11]) + int(fields[12])
    per = {}
    for tid in os.listdir('/proc/%d/task' % pid):
        try:
            per[int(tid)] = ticks('/proc/%d/task/%s/stat' % (pid, tid))
        except (FileNotFoundError, ProcessLookupError):
            pass
    return per, ticks('/proc/%d/stat' % pid)


class Daemon:
    """One qemu-storage-daemon, configured through QMP so that the thread
    of every iothread can be told apart."""

    def __init__(self, qsd, workdir):
        from qemu.qmp.legacy import QEMUMonitorProtocol
        self.mon = os.path.join(workdir, 'qmp.sock')
        self.nbd = os.path.join(workdir, 'nbd.sock')
        self.log = open(os.path.join(workdir, 'qsd.log'), 'ab')
        self.proc = subprocess.Popen(
            [qsd, '--chardev',
             'socket,id=mon,path=%s,server=on,wait=off' % self.mon,
             '--monitor', 'chardev=mon,mode=control'],
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while not os.path.exists(self.mon):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.kill()
                env.die('qemu-storage-daemon did not start: ' + self.tail())
            time.sleep(0.02)
        self.qmp = QEMUMonitorProtocol(self.mon)
        self.qmp.connect()
        self.iothreads = {}     # iothread id -> thread id

    def add_iothread(self, name):
        before = set(cpu_ticks(self.proc.pid)[0])
        self.qmp.cmd('object-add', **{'qom-type': 'iothread', 'id': name})
        new = set(cpu_ticks(self.proc.pid)[0]) - before
        if len(new) != 1:
            env.die('iothread %s: %d new threads, expected 1'
                    % (name, len(new)))
        self.iothreads[name] = new.pop()

    def export(self, image, n):
        """Node q on image, exports e0..e<n-1>, export i in iot<i>."""
        for i in range(n):
            self.add_iothread('iot%d' % i)
        self.qmp.cmd('blockdev-add', driver='file', **{'node-name': 'f'},
                     filename=image, aio='threads')
        self.qmp.cmd('blockdev-add', driver='qcow2',
                     **{'node-name': 'q'}, file='f')
        self.qmp.cmd('nbd-server-start',
                     addr={'type': 'unix', 'data': {'path': self.nbd}})
        for i in range(n):
            self.qmp.cmd('block-export-add', type='nbd', id='e%d' % i,
                         name='e%d' % i, writable=True,
                         iothread='iot%d' % i, **{'node-name': 'q'})

    def quit(self):
        """SIGTERM: a clean shutdown that closes the image."""
        try:
            self.qmp.close()
            self.proc.terminate()
            if self.proc.wait(30) != 0:
                env.die('qemu-storage-daemon exited with %d: %s'
                        % (self.proc.returncode, self.tail()))
        finally:
            self.kill()

    def tail(self):
        """The end of the daemon's output, for errors (the scratch
        directory that holds the log goes away on exit)."""
        with open(self.log.name, 'rb') as f:
            f.seek(max(0, os.path.getsize(self.log.name) - 600))
            return f.read().decode(errors='replace').strip() or '(no output)'

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def fio_job(wl, s, daemon, n, path):
    """The fio job file: one job (one NBD connection) per export."""
    lines = ['[global]', 'ioengine=nbd', 'bs=4k', 'iodepth=%d' % IODEPTH,
             'runtime=%d' % s.seconds,
             'ramp_time=%d' % (s.ramp if wl.ramp else 0)]
    lines += ['%s=%s' % kv for kv in sorted(wl.fio.items())]
    region = ALLOC_MIB // MAX_EXPORTS
    for i in range(n):
        lines += ['[e%d]' % i,
                  'uri=nbd+unix:///e%d?socket=%s' % (i, daemon.nbd)]
        if wl.cap:
            lines += ['offset=%dM' % (i * region), 'size=%dM' % region,
                      'number_ios=%d' % (wl.cap // n)]
    with open(path, 'w') as f:
        f.write('\n'.join(lines) + '\n')


def measure(impl, bins, wl, n, s, scratch, full_image):
    """One run: requests per second over all jobs, and the CPU seconds of
    every iothread and of the rest of the daemon during the fio run."""
    work = tempfile.mkdtemp(prefix='%s-%s-%d.' % (impl, wl.name, n),
                            dir=scratch)
    if wl.image == 'full':
        image = full_image
    else:
        image = os.path.join(work, 'empty.qcow2')
        make_image(bins, image, ALLOC_MIB, False)
    daemon = Daemon(bins['qemu-storage-daemon'], work)
    try:
        daemon.export(image, n)
        job = os.path.join(work, 'job.fio')
        out = os.path.join(work, 'fio.json')
        fio_job(wl, s, daemon, n, job)
        t0, p0 = cpu_ticks(daemon.proc.pid)
        r = subprocess.run(['fio', '--output-format=json', '--output=' + out,
                            job], stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, text=True)
        t1, p1 = cpu_ticks(daemon.proc.pid)
    finally:
        daemon.quit()
    if r.returncode != 0:
        env.die('fio failed (%s): %s' % (job, r.stderr.strip()))
    with open(out) as f:
        jobs = json.load(f)['jobs']
    ios = sum(j['read']['total_ios'] + j['write']['total_ios'] for j in jobs)
    ms = max(j['job_runtime'] for j in jobs)
    if any(j['error'] for j in jobs) or ms <= 0:
        env.die('fio reported an error (%s)' % out)
    hz = os.sysconf('SC_CLK_TCK')
    cpu = {name: (t1.get(tid, 0) - t0.get(tid, 0)) / hz
           for name, tid in daemon.iothreads.items()}
    cpu['rest'] = (p1 - p0) / hz - sum(cpu.values())
    cpu['tids'] = [daemon.iothreads['iot%d' % i] for i in range(n)]
    cpu['us_per_req'] = (p1 - p0) / hz * 1e6 / ios
    if wl.image == 'empty':
        cpu['image_mib'] = os.stat(image).st_blocks * 512 / (1 << 20)
    shutil.rmtree(work)
    return ios * 1000.0 / ms, cpu


def placement(cpus, n):
    """Which iothreads did the work over all (impl, cpu) runs of a
    configuration: their share of the iothreads' CPU time, those >= 5%."""
    total = collections.Counter()
    for _, c in cpus:
        for i in range(n):
            total['iot%d' % i] += c['iot%d' % i]
    whole = sum(total.values())
    if whole <= 0:
        return 'no iothread CPU time'
    busy = ['%s %.0f%%' % (k, 100.0 * v / whole)
            for k, v in sorted(total.items()) if v >= 0.05 * whole]
    return '%d of %d busy: %s' % (len(busy), n, ', '.join(busy))


def svg_plot(s, results, stamp):
    """req/s against the number of exports/iothreads, one panel per
    workload, stock and patched medians (hand-written SVG)."""
    colors = {'stock': '#7f8c8d', 'patched': '#e67e22'}
    pw, ph, left, top = 300, 220, 60, 60
    width = left + len(WORKLOADS) * (pw + 40) + 20
    height = top + ph + 70
    out = svg_header(width, height,
                     'one qcow2 node, N NBD exports with iothread=iotN: '
                     'median req/s (%s)' % stamp,
                     'grey: stock, orange: patched; QEMU 10.2 runs all '
                     'exports of the node in one iothread (see the report)')
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
        out.append('<text x="%.1f" y="%d" text-anchor="middle">exports / '
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


def report(s, results, costs, cpus, sums, started, elapsed, load):
    """The markdown report; load: the 1-minute load averages at the start
    and at the end (the machine may be shared, and the load says how much
    to trust the medians)."""
    stamp = env.utc_stamp(started)
    cores = os.cpu_count()
    fio_version = subprocess.run(['fio', '--version'], capture_output=True,
                                 text=True).stdout.strip()
    svg = os.path.basename(s.svg)
    L = ['# Multiqueue: one qcow2 node from 1, 2 and 4 iothreads, '
         'stock vs patched', '',
         'Generated by `tools/bench.py mq`; do not edit by hand.  Taken %s '
         '(%s mode), %d pair(s) of runs per configuration, %d s per run%s; '
         'the row ran %d min %02d s; load average %.1f at the start, %.1f '
         'at the end.'
         % (stamp, 'quick' if s.quick else 'full', s.pairs, s.seconds,
            ' after %d s of ramp' % s.ramp if s.ramp else '', elapsed // 60,
            elapsed % 60, load[0], load[1]), '',
         'Setup: qemu-storage-daemon of each build (private copies, sha256 '
         'below) with one qcow2 node (64K clusters, on /dev/shm, '
         '`aio=threads`), N iothread objects and N NBD exports of the node, '
         'export i created with `iothread=iot<i>`; %s, one job (one NBD '
         'connection) per export, `ioengine=nbd`, 4K requests, iodepth %d '
         'per job.  Rewrites and reads use a %d MiB image whose every '
         'cluster a first pass wrote; the allocating row a new empty %d GiB '
         'image per run.  Runs alternate between the builds (stock first in '
         'even pairs, patched first in odd ones); req/s is all requests of '
         'all jobs over the longest job runtime.  Ratio: the median of the '
         'per-pair patched/stock ratios with its 95%% confidence interval '
         '(order statistics; none below 6 pairs).  req/s: higher is '
         'better.  CPU us/req: the CPU time of the whole daemon (all its '
         'threads, from /proc/PID/stat, 10 ms ticks) during the fio run per '
         'request, lower is better: a second view of the same runs, '
         'which no more than req/s escapes the load of a shared machine.'
         % (fio_version, IODEPTH, s.full_mib, ALLOC_MIB // 1024), '',
         '**What QEMU 10.2 does with this.**  A block node has one '
         'AioContext: `block-export-add` with `iothread` moves the node, and '
         'every export of it that is not `fixed-iothread`, into the named '
         'iothread (block/export/export.c), so the N exports all run in the '
         'last iothread; with `fixed-iothread=on` the second export is '
         'refused ("Cannot change iothread of active block backend").  '
         'Exports spreading one node over several iothreads come after '
         '10.2.  So N here is the number of concurrent clients (N x %d '
         'requests in flight) on one node in one iothread, not N threads in '
         'qcow2 at once; the "where the work ran" column shows the CPU time '
         'of every iothread during the runs (qemu-storage-daemon has no '
         '`query-iothreads`, so each iothread is added through QMP one at a '
         'time and its thread is the one that appeared; times from '
         '/proc/PID/task/TID/stat).  The rows show whether the in-flight '
         'references (taken under s->lock) cost concurrency relative to '
         'stock, not multi-thread scaling: the counts are taken and dropped '
         'in one thread here.  In 10.2 only the `iothread-vq-mapping` of '
         'virtio-blk and virtio-scsi spreads one node over several '
         'iothreads; that needs a booted guest and is not measured.'
         % IODEPTH, '',
         'This machine has %d CPU core(s).  On a 2-core machine 4 '
         'iothreads plus 4 fio jobs oversubscribe the CPUs, so the rows '
         'show relative serialization (patched against stock at the same '
         'N), not scaling.  The machine may be shared: compare the builds '
         'within a row, not rows across reports.' % cores, '',
         '![req/s against the number of exports](%s)' % svg, '']
    for wl in WORKLOADS:
        L += ['## %s' % wl.title, '',
              'fio: %s.' % ', '.join('`%s=%s`' % kv
                                     for kv in sorted(wl.fio.items()))
              + (' No ramp; at most %d requests per run, shared by its '
                 'jobs.' % wl.cap if wl.cap else ''),
              '']
        L += md_table(
            ['exports / iothreads', 'stock req/s', 'patched req/s',
             'patched/stock', '95% CI', 'stock CPU us/req',
             'patched CPU us/req', 'patched/stock', '95% CI', 'pairs',
             'where the work ran'],
            [[str(n)] + cells(results[wl.name, n], '%.0f')
             + cells(costs[wl.name, n], '%.1f')
             + [str(len(results[wl.name, n])), placement(cpus[wl.name, n], n)]
             for n in s.threads])
        L.append('')
    L += ['## Where the work ran, per run', '',
          'CPU seconds of every iothread and of the rest of the daemon '
          '(main loop, thread-pool workers) during the fio run'
          ' (first pair; the allocating row also gives the image\'s '
          'host size after the run).', '',
          '| row | N | build | iothread TIDs | iothreads (iot0 ...) | rest '
          '| |', '|---|---|---|---|---|---|---|']
    for wl in WORKLOADS:
        for n in s.threads:
            for impl, c in cpus[wl.name, n][:2]:
                L.append('| %s | %d | %s | %s | %s | %.2f | %s |' % (
                    wl.name, n, impl, ' / '.join(map(str, c['tids'])),
                    ' / '.join('%.2f' % c['iot%d' % i] for i in range(n)),
                    c['rest'], '%.0f MiB' % c['image_mib']
                    if 'image_mib' in c else ''))
    L += ['', '## Binaries', '']
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
    env.need_fio_nbd()
    env.qemu_python()
    started, load = time.time(), [float(env.loadavg(1))]
    scratch = tempfile.mkdtemp(prefix='qcow2-bench-mq.', dir='/dev/shm')
    try:
        bins, sums = copy_binaries(scratch)
        full = os.path.join(scratch, 'full.qcow2')
        make_image(bins['stock'], full, s.full_mib, True)
        results = collections.defaultdict(list)   # (row, n) -> [{impl: rps}]
        costs = collections.defaultdict(list)     # ... [{impl: CPU us/req}]
        cpus = collections.defaultdict(list)      # (row, n) -> [(impl, cpu)]
        for p in range(s.pairs):
            order = IMPLS if p % 2 == 0 else IMPLS[::-1]
            for wl in WORKLOADS:
                for n in s.threads:
                    pair, cost = {}, {}
                    for impl, _ in order:
                        rps, cpu = measure(impl, bins[impl], wl, n, s,
                                           scratch, full)
                        pair[impl] = rps
                        cost[impl] = cpu['us_per_req']
                        cpus[wl.name, n].append((impl, cpu))
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
    text, stamp = report(s, results, costs, cpus, sums, started, elapsed,
                         load)
    write_out(s.out, text)
    write_out(s.svg, svg_plot(s, results, stamp))
    env.log('wrote %s and %s' % (s.out, s.svg))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
