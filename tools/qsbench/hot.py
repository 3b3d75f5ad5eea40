"""
The rows of docs/benchmarks.md: stock vs patched qcow2, on tmpfs.

    tools/bench.py hot                 # full run (1 warm-up pair + the pairs)
    BENCH_QUICK=1 tools/bench.py hot   # smoke run: 1 warm-up + 2 pairs, small counts

Environment: BENCH_PAIRS (measured pairs of the convert row, default 5;
2 in quick mode), BENCH_MIX_PAIRS (of the NBD mix rows, default 30; 2 in
quick mode), BENCH_HOT_PAIRS (measured pairs of the qemu-img bench rows at
least, default 100; 4 in quick mode), BENCH_HOT_MAX (at most, default
1000; 4 in quick mode), BENCH_HOT_CI (between the two, a row stops once
the 95% confidence interval of its median overhead is at most this many
percentage points wide, default 1.5), BENCH_PIN (the CPU that the qemu-img
bench runs are pinned to with taskset, default 1; "none" for no pinning),
BENCH_CACHE (where the convert source image is generated once, default
$QS_CACHE/bench), BENCH_TMP (a tmpfs directory to work in, default
/dev/shm), BENCH_OUT (default docs/benchmarks.md; the SVG goes next to it
as benchmark-ratios.svg, or X-ratios.svg for X.md), BENCH_KEEP (a
directory to keep the raw results in; `tools/bench.py report DIR` writes
the report from them again), BENCH_ROWS (a regex of row groups to run:
bench, callgrind, mix, convert; default all).

Wall-clock rows run stock and patched alternately, A B B A ..., a warm-up
pair first, and report medians, min-max and the patched/stock ratio of
every pair.  The callgrind rows run once per build (they count
instructions, which does not depend on the machine's load).

Nothing under build/ is modified: the builds are only run.

The qemu-img bench rows run pinned to one CPU.  On this kind of machine (a
VM with 2 vCPUs), a request at QD1 that hops between the main loop and a
thread-pool worker on the other, idle vCPU waits for that vCPU to wake up
in the hypervisor: unpinned, 4K QD1 rewrites ran at a quarter of the
pinned rate, with a spread between runs of 20% and more, which is the
host's noise, not qcow2's.

Even pinned, one run of the same build on this machine takes anything
from its best time to 1.5 times that (the hypervisor's other guests come
and go), so one pair's ratio is worth little: the QD32 aio=threads rows
spread by 13-20% (standard deviation of the log ratio, A/A).  Short runs
and many pairs resolve far better than long runs: over the same 100 s,
200 pairs of 15000 requests gave an A/A confidence interval 2.5 points
wide, 50 pairs of 60000 requests one 9.3 points wide.  Not too short,
though: qemu-img bench reports its time in milliseconds, and runs of
0.15 s made 2-6% of the pairs tie at a ratio of exactly 1, enough to pin
a median there.  Hence runs of 0.2-0.3 s (the counts below), and pairs
until the interval is narrow enough (BENCH_HOT_CI).
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

if __package__ in (None, ''):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from qsbench import report  # noqa: E402
from qsbench.env import (DOCS, PATCHED, PY, QS_CACHE, STOCK, die, env_int,  # noqa: E402
                         loadavg, log, need_builds, need_fio_nbd, run_timed,
                         source_image, stop_process, tail_lines, utc_stamp)
from qsbench.report import Row  # noqa: E402
from qsbench.stats import ci_width_points, median, pair_ratios, pairs_by_row  # noqa: E402

TOOLS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Sizes and counts.  The qemu-img bench rows use a stride that is a prime
# number of 4K blocks: k * stride mod (image size - 4K) visits every 4K
# block of the image once per period, in a scattered order (qemu-img bench
# has no random mode).
IMG_SIZE = '1G'
STRIDE = 4096 * 100003
SCATTER = ['-S', str(STRIDE)]
# mode -> aio -> requests per run of the (QD1, QD32, sequential) rows;
# about 0.2 to 0.3 s per run here in full mode
HOT_COUNTS = {
    'quick': {'threads': (5000, 10000, 2000), 'io_uring': (5000, 10000, 2000)},
    'full': {'threads': (15000, 25000, 10000), 'io_uring': (20000, 70000, 12000)},
}
# mode -> the two request counts of a callgrind row, seconds of one NBD
# mix run, MiB of the convert source
SIZES = {
    'quick': dict(cg_n0=1000, cg_n1=3000, mix_runtime=3, conv_mib=256),
    'full': dict(cg_n0=1000, cg_n1=21000, mix_runtime=5, conv_mib=1024),
}

# The qemu-img bench rows, for each aio mode: id suffix, label, which of
# the HOT_COUNTS, the arguments after -i AIO
HOT_ROWS = (
    ('randwrite-qd1', '4K scattered rewrite, QD1', 0,
     ['-d', '1', '-w', '-s', '4K'] + SCATTER),
    ('randwrite-qd32', '4K scattered rewrite, QD32', 1,
     ['-d', '32', '-w', '-s', '4K'] + SCATTER),
    ('randread-qd32', '4K scattered read, QD32', 1,
     ['-d', '32', '-s', '4K'] + SCATTER),
    ('seqwrite-64k', '64K sequential rewrite, QD1', 2,
     ['-d', '1', '-w', '-s', '64K']),
)
# The noise floor: the QD32 rewrite with stock in both places of each pair
AA_ROW = ('bench-aa-randwrite-qd32',
          'A/A control: 4K scattered rewrite, QD32, aio=threads, stock vs stock',
          ['-i', 'threads', '-d', '32', '-w', '-s', '4K'] + SCATTER)

# Callgrind: instructions per operation.  Marginal cost: (Ir(N1 ops) -
# Ir(N0 ops)) / (N1 - N0), so that start-up and exit (which differ between
# the builds: the patched one also has the system emulator's TCG
# configured) do not count.  aio=io_uring: with aio=threads qemu-img bench
# hangs under valgrind (valgrind serialises the thread pool's workers and
# the main loop never gets its completion).  Basis: what the target is
# checked against, "total" (every instruction of the request) or "qcow2"
# (the self cost of block/qcow2*.c only).
#
# At QD32, how many completions one main loop iteration collects depends
# on when the kernel completes the io_uring requests, even under valgrind:
# the main loop's share of a request varies from run to run (stock
# 6812-6827 Ir, patched 6844-6909 Ir for the rewrite, three runs each),
# while the qcow2 code's does not.  The QD32 rows show that the qcow2 cost
# of a request does not grow with the number in flight.
CG_ROWS = (
    ('cg-rewrite-qd1', '4K scattered rewrite, QD1, aio=io_uring', 'total',
     ['-i', 'io_uring', '-d', '1', '-w', '-s', '4K'] + SCATTER),
    ('cg-read-qd1', '4K scattered read, QD1, aio=io_uring', 'total',
     ['-i', 'io_uring', '-d', '1', '-s', '4K'] + SCATTER),
    ('cg-rewrite-qd32', '4K scattered rewrite, QD32, aio=io_uring', 'qcow2',
     ['-i', 'io_uring', '-d', '32', '-w', '-s', '4K'] + SCATTER),
    ('cg-read-qd32', '4K scattered read, QD32, aio=io_uring', 'qcow2',
     ['-i', 'io_uring', '-d', '32', '-s', '4K'] + SCATTER),
)

# Discard-heavy mix over NBD.  qemu-storage-daemon exports a copy of the
# base image on a unix socket.  fio (nbd ioengine, one connection per job):
# job "writes" does 4K random rewrites in [0, 512M) (measured); job "trims"
# trims 64K (one cluster: qcow2 ignores discards smaller than a cluster) in
# [512M, 768M) while job "realloc" writes 64K there, so that the trims keep
# freeing clusters and the allocator keeps reusing them; a python-libnbd
# client (zero_client) writes and then zeroes (NBD_CMD_WRITE_ZEROES, unmap
# allowed) 64K clusters in [768M, 1G).  All three rows come from the same
# runs: the pairs run for the first, the other two are read off them.
MIX_ROWS = (
    Row('mix-write-iops', 'discard mix over NBD: 4K write IOPS', 'IOPS', 'higher', 'mix',
        'qemu-storage-daemon (qcow2, discard=unmap, NBD on a unix socket) '
        '+ fio ioengine=nbd (see below)'),
    Row('mix-write-p99', 'discard mix over NBD: 4K write p99 latency', 'us', 'lower',
        'none', 'same run as the row above'),
    Row('mix-trim-iops', 'discard mix over NBD: 64K trims/s (job trims)', 'IOPS',
        'higher', 'none', 'same run as the rows above'),
)
MIX_FIO = """[global]
ioengine=nbd
uri=${NBD_URI}
time_based=1
ramp_time=1
runtime=%d
randrepeat=1
norandommap=1

[writes]
rw=randwrite
bs=4k
iodepth=16
offset=0
size=512m

[trims]
rw=randtrim
bs=64k
iodepth=4
offset=512m
size=256m

[realloc]
rw=randwrite
bs=64k
iodepth=4
offset=512m
size=256m
"""


def zero_client(uri, seconds):
    """The NBD zero client of the mix (run in its own process by
    mix_once): pwrite then zero random 64K clusters of [768M, 1G) for
    seconds; prints how many."""
    import nbd
    import random
    h = nbd.NBD()
    h.connect_uri(uri)
    deadline = time.monotonic() + float(seconds)
    rnd = random.Random(1)
    buf = b'\x5a' * 65536
    n = 0
    while time.monotonic() < deadline:
        off = (768 << 20) + rnd.randrange(4096) * 65536
        h.pwrite(buf, off)
        h.zero(65536, off)
        n += 1
    h.shutdown()
    print(n)


def tcg_of(build):
    with open(os.path.join(build, 'config-host.h')) as f:
        return 'enabled' if any(line.startswith('#define CONFIG_TCG ') for line in f) \
            else 'disabled'


def tail(path, n):
    """The last n lines of a log, headed by its name, for a failure's
    message."""
    if not os.access(path, os.R_OK):
        return ''
    return '==> %s <==\n' % path + tail_lines(path, n)


def tdiv(a, b):
    """Integer division truncating towards zero, as the shell's $((a / b))."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


class Config:
    """The BENCH_* environment, checked."""

    def __init__(self):
        e = os.environ
        self.quick_env = e.get('BENCH_QUICK', '0')
        self.mode = 'quick' if self.quick_env == '1' else 'full'
        quick = self.mode == 'quick'
        self.pairs = env_int('BENCH_PAIRS', 2 if quick else 5)
        self.hot_pairs = env_int('BENCH_HOT_PAIRS', 4 if quick else 100)
        self.hot_max = env_int('BENCH_HOT_MAX', 4 if quick else 1000, minimum=0)
        self.mix_pairs = env_int('BENCH_MIX_PAIRS', 2 if quick else 30)
        if self.hot_max > self.hot_pairs and self.hot_pairs < 10:
            die('BENCH_HOT_PAIRS must be at least 10 when BENCH_HOT_MAX is larger')
        self.hot_ci = e.get('BENCH_HOT_CI', '1.5')
        if not re.fullmatch(r'[0-9]+(\.[0-9]+)?', self.hot_ci):
            die('BENCH_HOT_CI must be a number')
        self.pin = e.get('BENCH_PIN', '1')
        if self.pin == 'none':
            self.pin_cmd = []
        elif self.pin.isdigit():
            self.pin_cmd = ['taskset', '-c', self.pin]
        else:
            die('BENCH_PIN must be a CPU number or none')
        self.rows = e.get('BENCH_ROWS', 'bench|callgrind|mix|convert')
        self.out = e.get('BENCH_OUT', os.path.join(DOCS, 'benchmarks.md'))
        self.cache = e.get('BENCH_CACHE', os.path.join(QS_CACHE, 'bench'))
        self.tmp = e.get('BENCH_TMP', '/dev/shm')
        self.keep = e.get('BENCH_KEEP', '')
        self.counts = HOT_COUNTS[self.mode]
        sizes = SIZES[self.mode]
        self.cg_n0, self.cg_n1 = sizes['cg_n0'], sizes['cg_n1']
        self.mix_runtime, self.conv_mib = sizes['mix_runtime'], sizes['conv_mib']

    def want(self, group):
        return re.fullmatch('(%s)' % self.rows, group) is not None


class Bench:
    """One run: its work directory on tmpfs, the processes it started and
    the raw results (written out as the files qsbench.report reads)."""

    def __init__(self, cfg, work):
        self.cfg = cfg
        self.work = work
        self.base = os.path.join(work, 'base.qcow2')
        self.procs = []
        self.results = []   # row, pair, impl, value (text)
        self.meta = []      # report.Row
        self.cg = []        # report.CgRow
        self.notes = []
        self.mix_raw = []   # impl, p99, trims/s of every mix run, warm-up too

    # --- plumbing -------------------------------------------------------

    def note(self, msg):
        log(msg)
        self.notes.append(msg)

    def spawn(self, argv, **kw):
        p = subprocess.Popen(argv, **kw)
        self.procs.append(p)
        return p

    def stop(self, p):
        """End a process of ours: SIGTERM, SIGKILL if still there after 5 s."""
        stop_process(p, 5)
        self.procs.remove(p)

    def cleanup(self):
        for p in list(self.procs):
            self.stop(p)
        shutil.rmtree(self.work, ignore_errors=True)

    @staticmethod
    def build(impl, aa=False):
        """With aa, the "patched" runs use the stock build too: an A/A
        control row whose ratios show how much two identical builds
        differ on this machine."""
        return STOCK if impl == 'stock' or aa else PATCHED

    @staticmethod
    def run(argv, **kw):
        r = subprocess.run(argv, **kw)
        if r.returncode:
            die('%s failed (exit %d)' % (' '.join(argv), r.returncode))
        return r

    # --- pairs ----------------------------------------------------------

    def run_pairs(self, row, fn, n, max_pairs=0):
        """
        fn(impl) returns one number (as text), None if the run failed; a
        warm-up pair, then n pairs.  The order alternates from pair to pair
        (stock first, then patched first: A B B A A B ...), so that
        whatever favours the first or the second run of a pair (a cache
        warmed by the previous run, a timer) cancels out instead of leaning
        on the ratio.  With max_pairs > n, pairs go on in blocks of 25 until
        the 95% confidence interval of the median ratio is at most
        BENCH_HOT_CI percentage points wide, or max_pairs have run: the
        stopping rule looks at the width of the interval only, never at
        where the median lies.
        """
        i = 0
        while True:
            for impl in ('stock', 'patched') if i % 2 == 0 else ('patched', 'stock'):
                v = fn(impl)
                if v is None:
                    die('%s: %s run failed' % (row, impl))
                if i == 0:
                    log('%s warm-up %s: %s' % (row, impl, v))
                else:
                    self.results.append((row, i, impl, v))
            i += 1
            m = i - 1    # measured pairs so far
            if m < n:
                continue
            if m >= max_pairs:
                break
            if (m - n) % 25 == 0 and not self.ci_wide(row):
                break
        log('%s: %d measured pairs' % (row, m))

    def ci_wide(self, row):
        """Whether the 95% CI of the row's median ratio (higher is better)
        is still wider than BENCH_HOT_CI percentage points."""
        ratios = pair_ratios(pairs_by_row(self.results).get(row, {}).values())
        width = ci_width_points(ratios)
        log('%s: %d pairs, median ratio %.4f, 95%% CI %.2f points wide'
            % (row, len(ratios), median(ratios), width))
        return width > float(self.cfg.hot_ci)

    # --- the image of the qemu-img bench, callgrind and mix rows --------

    def make_base(self):
        """Written over its whole length, so that every guest write is a
        rewrite of an allocated cluster (no allocation, no COW: the
        in-flight reference is the only thing the series adds on that
        path) and every read hits data."""
        log('creating a fully allocated %s qcow2 image' % IMG_SIZE)
        img = os.path.join(STOCK, 'qemu-img')
        self.run([img, 'create', '-q', '-f', 'qcow2', self.base, IMG_SIZE])
        self.run([os.path.join(STOCK, 'qemu-io'), '-f', 'qcow2',
                  '-c', 'write -P 0xa5 0 %s' % IMG_SIZE, self.base],
                 stdout=subprocess.DEVNULL)
        m = json.loads(self.run([img, 'map', '--output=json', self.base],
                                stdout=subprocess.PIPE).stdout)
        if not all(e['data'] and not e['zero'] for e in m):
            die('the base image is not fully allocated')

    # --- a. qemu-img bench ----------------------------------------------

    def aios(self):
        """threads, and io_uring if qemu-img bench can use it here."""
        probe = ['bench', '-q', '-f', 'qcow2', '-t', 'writeback', '-i', 'io_uring',
                 '-c', '16', self.base]
        if all(subprocess.run([os.path.join(b, 'qemu-img')] + probe).returncode == 0
               for b in (STOCK, PATCHED)):
            return ['threads', 'io_uring']
        self.note('io_uring rows skipped: qemu-img bench -i io_uring does not run here')
        return ['threads']

    def bench_row(self, row_id, label, count, args, aa=False):
        args = ['-f', 'qcow2', '-t', 'writeback', '-c', str(count)] + args
        pin = self.cfg.pin_cmd
        self.meta.append(Row(row_id, label, 'ops/s', 'higher', 'control' if aa else 'hot',
                             ' '.join(pin + ['qemu-img', 'bench'] + args + ['IMG'])))

        def once(impl):   # ops/s
            out = subprocess.run(pin + [os.path.join(self.build(impl, aa), 'qemu-img'),
                                        'bench'] + args + [self.base],
                                 stdout=subprocess.PIPE, text=True)
            m = re.search(r'^Run completed in ([0-9.]*) seconds\.$', out.stdout, re.M)
            if out.returncode or not m or not m.group(1) or float(m.group(1)) == 0:
                return None
            return '%.0f' % (count / float(m.group(1)))
        self.run_pairs(row_id, once, self.cfg.hot_pairs, self.cfg.hot_max)

    def bench_rows(self):
        for aio in self.aios():
            for suffix, label, k, args in HOT_ROWS:
                self.bench_row('bench-%s-%s' % (aio, suffix), '%s, aio=%s' % (label, aio),
                               self.cfg.counts[aio][k], ['-i', aio] + args)
        row_id, label, args = AA_ROW
        self.bench_row(row_id, label, self.cfg.counts['threads'][1], args, aa=True)

    # --- b. callgrind: instructions per operation -----------------------

    def cg_run(self, impl, n, args, row_id):
        """(total Ir, Ir in block/qcow2*.c) of n requests, None if the run
        failed; keeps the callgrind_annotate output for the report."""
        f = os.path.join(self.work, 'cg.%s.%d.%s' % (impl, n, row_id))
        rc = run_timed(['valgrind', '--tool=callgrind', '--callgrind-out-file=' + f,
                        os.path.join(self.build(impl), 'qemu-img'), 'bench', '-q', '-f',
                        'qcow2', '-t', 'writeback', '-c', str(n)] + args + [self.base],
                       f + '.log', 600, grace=0)[0]
        if rc != 0:
            sys.stderr.write(tail(f + '.log', 5))
            return None
        return report.callgrind_annotate(
            f, os.path.join(self.work, 'cg-%s-%d-%s.txt' % (impl, n, row_id)))

    def cg_rows(self):
        n0, n1 = self.cfg.cg_n0, self.cfg.cg_n1
        for row_id, label, basis, args in CG_ROWS:
            for impl in ('stock', 'patched'):
                log('%s: callgrind %s (%d and %d ops)' % (row_id, impl, n0, n1))
                r0 = self.cg_run(impl, n0, args, row_id)
                r1 = self.cg_run(impl, n1, args, row_id)
                if r0 is None or r1 is None:
                    die('%s: callgrind run failed' % row_id)
                a = tdiv(r1[0] - r0[0], n1 - n0)
                b = tdiv(r1[1] - r0[1], n1 - n0)
                log('%s %s: %d Ir/op (%d in block/qcow2*.c)' % (row_id, impl, a, b))
                self.cg.append(report.CgRow(
                    row_id, impl, str(a), str(b), label,
                    'valgrind --tool=callgrind qemu-img bench -f qcow2 -t writeback '
                    '-c {%d,%d} %s IMG' % (n0, n1, ' '.join(args)), basis))

    # --- c. discard-heavy mix over NBD ----------------------------------

    def mix_once(self, impl):
        """One run of the mix on a fresh copy of the base image: a dict of
        iops, p99 (us), trims (/s) and zeroes (clusters), or None."""
        runtime = self.cfg.mix_runtime
        d = tempfile.mkdtemp(prefix='run.', dir=self.work)
        img = os.path.join(d, 'img.qcow2')
        sock = os.path.join(d, 'nbd.sock')
        shutil.copyfile(self.base, img)
        logs = {k: os.path.join(d, k) for k in ('qsd.log', 'zero.out', 'fio.log')}
        procs = []
        try:
            with open(logs['qsd.log'], 'w') as qlog:
                procs.append(self.spawn(
                    [os.path.join(self.build(impl), 'storage-daemon', 'qemu-storage-daemon'),
                     '--blockdev', 'driver=file,node-name=file0,filename=%s,discard=unmap' % img,
                     '--blockdev', 'driver=qcow2,node-name=fmt0,file=file0,discard=unmap',
                     '--nbd-server', 'addr.type=unix,addr.path=' + sock,
                     '--export', 'type=nbd,id=exp0,node-name=fmt0,name=disk,writable=on'],
                    stdout=qlog, stderr=subprocess.STDOUT))
            for _ in range(100):
                if os.path.exists(sock):
                    break
                time.sleep(0.1)
            else:
                sys.stderr.write(tail(logs['qsd.log'], 1000))
                return None
            uri = 'nbd+unix:///disk?socket=' + sock
            deadline = time.monotonic() + runtime + 10
            with open(logs['zero.out'], 'w') as zout:
                procs.append(self.spawn(
                    [PY, '-c', 'import sys; sys.path.insert(0, sys.argv[1]); '
                     'from qsbench.hot import zero_client; zero_client(*sys.argv[2:])',
                     TOOLS, uri, str(runtime + 1)],
                    stdout=zout, stderr=subprocess.STDOUT))
            rc = run_timed(['fio', '--output-format=json',
                            '--output=' + os.path.join(d, 'fio.json'),
                            os.path.join(self.work, 'mix.fio')],
                           logs['fio.log'], runtime + 30, grace=0,
                           environ=dict(os.environ, NBD_URI=uri))[0]
            try:
                rc = procs[1].wait(max(deadline - time.monotonic(), 1)) or rc
            except subprocess.TimeoutExpired:
                rc = 124
        finally:
            for p in procs:
                self.stop(p)
        if rc:
            log('mix %s: fio or the zero client failed (%d)' % (impl, rc))
            sys.stderr.write(''.join(tail(logs[k], 20)
                                     for k in ('fio.log', 'zero.out', 'qsd.log')))
            return None
        check = subprocess.run([os.path.join(self.build(impl), 'qemu-img'), 'check', '-q', img],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if check.returncode:
            self.note('mix (%s): qemu-img check reports problems after the run: %s'
                      % (impl, check.stdout[:300].decode(errors='replace').rstrip('\n')))
        with open(os.path.join(d, 'fio.json')) as f:
            jobs = {x['jobname']: x for x in json.load(f)['jobs']}
        with open(logs['zero.out']) as f:
            zeroes = f.read().strip()
        shutil.rmtree(d)
        w = jobs['writes']['write']
        return dict(iops='%.0f' % w['iops'],
                    p99='%.1f' % (w['clat_ns']['percentile']['99.000000'] / 1000),
                    trims='%.0f' % jobs['trims']['trim']['iops'], zeroes=zeroes)

    def mix_iops(self, impl):
        """Runs the mix; keeps the p99 and trims/s for the other mix rows."""
        r = self.mix_once(impl)
        if r is None:
            return None
        log('mix %s: write IOPS %s, p99 %s us, trims/s %s, zero-clusters %s'
            % (impl, r['iops'], r['p99'], r['trims'], r['zeroes']))
        self.mix_raw.append((impl, r['p99'], r['trims']))
        return r['iops']

    def mix_rows(self):
        self.meta += MIX_ROWS
        self.run_pairs(MIX_ROWS[0].id, self.mix_iops, self.cfg.mix_pairs)
        # the p99 and trims/s of the same runs, pair by pair (without the
        # warm-up pair)
        for k, row in ((1, MIX_ROWS[1].id), (2, MIX_ROWS[2].id)):
            for i, r in enumerate(self.mix_raw[2:]):
                self.results.append((row, i // 2 + 1, r[0], r[k]))

    # --- d. qemu-img convert -c -----------------------------------------

    def convert_rows(self):
        """The mixed image of conv_mib MiB (env.source_image), generated
        once per size into BENCH_CACHE, copied to tmpfs for the runs."""
        src = os.path.join(self.work, 'conv-src.qcow2')
        shutil.copyfile(source_image('mixed', self.cfg.cache, self.cfg.conv_mib,
                                     os.path.join(STOCK, 'qemu-img'), self.work), src)
        out = os.path.join(self.work, 'conv-out.qcow2')

        def once(impl):   # seconds
            if os.path.exists(out):
                os.unlink(out)
            t0 = time.monotonic()
            rc = subprocess.run([os.path.join(self.build(impl), 'qemu-img'), 'convert', '-c',
                                 '-f', 'qcow2', '-O', 'qcow2', src, out]).returncode
            t1 = time.monotonic()
            if os.path.exists(out):
                os.unlink(out)
            return None if rc else '%.3f' % (t1 - t0)
        self.meta.append(Row('convert-c', 'qemu-img convert -c, %d MiB mixed qcow2 -> qcow2'
                             % self.cfg.conv_mib, 's', 'lower', 'none',
                             'qemu-img convert -c -f qcow2 -O qcow2 SRC OUT'))
        self.run_pairs('convert-c', once, self.cfg.pairs)
        os.unlink(src)

    # --- the raw results ------------------------------------------------

    def save(self, env):
        """The files that qsbench.report reads, in the work directory."""
        def tsv(name, rows):
            with open(os.path.join(self.work, name), 'w') as f:
                f.writelines('\t'.join(str(x) for x in r) + '\n' for r in rows)
        tsv('results.tsv', self.results)
        tsv('rows.tsv', self.meta)
        tsv('callgrind.tsv', self.cg)
        with open(os.path.join(self.work, 'notes.txt'), 'w') as f:
            f.writelines(n + '\n' for n in self.notes)
        report.write_env(os.path.join(self.work, 'env.sh'), env)

    def keep(self, directory):
        os.makedirs(directory, exist_ok=True)
        for name in sorted(os.listdir(self.work)):
            if (name in report.RAW_FILES or name == 'mix.fio'
                    or re.fullmatch(r'cg-.+-.+-.+\.txt', name)):
                shutil.copy(os.path.join(self.work, name), directory)
        log('raw results kept in %s' % directory)

    def main(self):
        cfg = self.cfg
        log('mode %s, %d/%d measured pairs, pinned to CPU %s, work dir %s'
            % (cfg.mode, cfg.hot_pairs, cfg.pairs, cfg.pin, self.work))
        load_start, load_hot = loadavg(), ''
        date_start = utc_stamp()
        with open(os.path.join(self.work, 'mix.fio'), 'w') as f:
            f.write(MIX_FIO % cfg.mix_runtime)
        if cfg.want('bench') or cfg.want('callgrind') or cfg.want('mix'):
            self.make_base()
        if cfg.want('bench'):
            self.bench_rows()
            # The rows below load the machine themselves (the NBD mix and
            # convert use both CPUs): whether something else ran is judged
            # at the start and here.
            load_hot = loadavg()
        if cfg.want('callgrind'):
            self.cg_rows()
        if cfg.want('mix'):
            self.mix_rows()
        if cfg.want('convert'):
            self.convert_rows()
        self.save(dict(
            HOT_PAIRS=cfg.hot_pairs, HOT_MAX=cfg.hot_max, HOT_CI=cfg.hot_ci,
            MIX_PAIRS=cfg.mix_pairs, PIN=cfg.pin, MODE=cfg.mode, PAIRS=cfg.pairs,
            DATE_START=date_start, TCG_STOCK=tcg_of(STOCK), TCG_PATCHED=tcg_of(PATCHED),
            LOAD_START=load_start, LOAD_HOT=load_hot, LOAD_END=loadavg(),
            STRIDE=STRIDE, IMG_SIZE=IMG_SIZE, CG_N0=cfg.cg_n0, CG_N1=cfg.cg_n1,
            MIX_RUNTIME=cfg.mix_runtime, CONV_MIB=cfg.conv_mib, QUICK=cfg.quick_env))
        if cfg.keep:
            self.keep(cfg.keep)
        report.write_report(self.work, cfg.out)


def check_tools(cfg):
    """What the chosen rows need besides the builds."""
    need_builds()
    if cfg.want('mix'):
        need_fio_nbd()
        if subprocess.run([PY, '-c', 'import nbd'], stderr=subprocess.DEVNULL).returncode:
            die('python3-libnbd is missing')
    if cfg.want('callgrind') and not shutil.which('valgrind'):
        die('valgrind is missing (apt-get install valgrind)')


def main(argv):
    if argv:
        die('usage: [BENCH_...=...] bench.py hot (no arguments: see the environment '
            'in tools/qsbench/hot.py)')
    cfg = Config()
    check_tools(cfg)
    bench = Bench(cfg, tempfile.mkdtemp(prefix='qcow2-bench.', dir=cfg.tmp))

    def on_term(signum, frame):
        sys.exit(130)
    old = signal.signal(signal.SIGTERM, on_term)
    try:
        bench.main()
    except KeyboardInterrupt:
        return 130
    finally:
        bench.cleanup()
        signal.signal(signal.SIGTERM, old)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
