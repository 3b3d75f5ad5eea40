"""
Benchmark of qcow2's compressed write cache (qcow2 runtime options
compressed-write-cache=on|off|auto and compressed-write-cache-size): stock
vs patched with the cache off vs patched with the cache on, writing
compressed clusters into a target opened with O_DIRECT on a real file
system (not tmpfs, which has no O_DIRECT).  The port of
tools/bench-ccache.sh.

  tools/bench.py ccache                      # full run
  BENCH_CC_QUICK=1 tools/bench.py ccache     # smoke run: small images, 1 round

Rows (ROWS below):
  convert   qemu-img convert -c -t none of a qcow2 source image into a
            pre-created qcow2 target; wall time, plus a separate strace run
            per variant that counts the host I/O syscalls on the target file
  throttle  the same convert with the target's file node behind a
            throttle node limited to BENCH_CC_IOPS IOPS (network storage
            model), on a smaller image
  backup    qemu-storage-daemon, blockdev-backup sync=full compress=on into
            a qcow2 target opened with cache.direct=on, driven over QMP
            (qemu.qmp from build/qemu/python); wall time until the target is
            closed and until BLOCK_JOB_COMPLETED (row backup-job), plus a
            separate strace run per variant
  convert-rc1
            the convert of a small compressible image into a target created
            with refcount_bits=1: every compressed cluster then takes a host
            cluster of its own unless clusters share one, which is where a
            cache that packs compressed clusters badly uses several times the
            disk space of stock

The disk usage of every timed run's target (allocated, st_blocks * 512, and
apparent size, after the run and before its verification) is reported per
row and variant against stock: the cache must not cost disk space.

Every run is verified: `qemu-img compare` of source and target and
`qemu-img check` of the target (stock qemu-img for both).  A run that fails
(a command's error, a backup job that completes with an error) records no
value: the report shows it as FAILED and in its notes, and the exit status
is 1.

The patched variants always name the cache's setting
(compressed-write-cache=off, =on, and =auto for the counting-only variant
"auto"), so that they mean the same whatever the build's default is.

Environment:
  BENCH_CC_STOCK, BENCH_CC_PATCHED  build directories (default build/stock,
                           build/patched)
  BENCH_CC_ROUNDS          measured rounds after one warm-up round (default
                           3; 1 and no warm-up in quick mode)
  BENCH_CC_BACKUP_ROUNDS   measured rounds of the backup row (default 9;
                           1 in quick mode): its CPU-bound runs vary by
                           several percent from round to round, and 9 rounds
                           give the 95% confidence interval of the median
                           ratio that its goal is judged by
  BENCH_CC_WARMUP          1 (default; 0 in quick mode): one warm-up round
  BENCH_CC_QUICK=1         smoke run
  BENCH_CC_OUT             report (default docs/benchmarks-ccache.md for the
                           mixed image and zlib, else
                           docs/benchmarks-ccache-CONTENT-COMPRESSION.md)
  BENCH_CC_ROWS            regex of rows to run:
                           convert|throttle|backup|convert-rc1
  BENCH_CC_MIB             size of the convert and backup image in MiB
                           (default 1024; quick 64)
  BENCH_CC_THROTTLE_MIB    size of the throttled row's image (default 256;
                           quick 32)
  BENCH_CC_RC1_MIB         size of the convert-rc1 row's image (default 128;
                           quick 32); always the compressible image
  BENCH_CC_IOPS            the throttle's x-iops-total (default 500)
  BENCH_CC_ALIGN           the block size of the throttled volume (default
                           4096): a blkdebug node with align=BENCH_CC_ALIGN
                           above the throttle node makes the block layer
                           do read-modify-write there, so that the RMW
                           reads of unaligned writes pass the throttle too
  BENCH_CC_CONTENT         the source image (qsbench.env.source_image):
                           mixed (default; a third random, a third zero, a
                           third text) or compressible (every non-zero
                           cluster compresses)
  BENCH_CC_COMPRESSION     the targets' compression_type (default zlib)
  BENCH_CC_SIZE            if set, compressed-write-cache-size=BYTES is
                           passed with compressed-write-cache=on
  BENCH_CC_COUNT=0         skip the strace counting runs
  BENCH_CC_CACHE           where the source images are generated once
                           (default $QS_CACHE/bench, shared with the hot rows)
  BENCH_CC_TMP             a directory on a file system with O_DIRECT for
                           the targets (default /var/tmp)
  BENCH_CC_TIMEOUT         seconds allowed to one command (default 3600)
  BENCH_CC_WAIT_IDLE       wait up to this many seconds for the machine to
                           be idle before starting (default 0: do not wait)
  BENCH_CC_MAXLOAD         "idle" means a 1-minute load average below this
                           (default 1.5) and no build/bench/stress running

The variants run alternately (stock, off, on, stock, off, on, ...), one
warm-up round first.  Reported: medians, min-max, ratio to stock of the
same round.  Nothing under build/ is modified: the builds are only run.
"""
import asyncio
import bisect
import collections
import json
import mmap
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from . import env, stats
from .report import md_table, write_out

CLUSTER = 65536
BUSY_RE = r'tools/bench\.(sh|py)|qcow2_stress|make|ninja|cc1'
TRACE_SET = ('openat,pread64,pwrite64,preadv,pwritev,preadv2,pwritev2,'
             'io_uring_enter,fdatasync,fsync')
STRACE = ['strace', '-f', '-y', '-s', '0']

# The variants: label, build, and the compressed-write-cache setting that
# selects it, always given explicitly (None: no option at all), so that a
# variant means the same whatever the build's default is.  "auto" runs
# only in the counting runs; "patched" replaces off and on when the patched
# build does not know the option.
Variant = collections.namedtuple('Variant', 'label build cache')
VARIANTS = {
    'stock': Variant('stock', 'stock', None),
    'off': Variant('patched, cache off', 'patched', 'off'),
    'on': Variant('patched, cache on', 'patched', 'on'),
    'auto': Variant('patched, cache auto', 'patched', 'auto'),
    'patched': Variant('patched (no cache option)', 'patched', None),
}

# The timed rows: name; label (str.format with the run's settings); goal
# (notslower: cache on not slower than stock, speedup3: cache on >= 3x
# faster than stock, none); the runner (convert or backup); whether the
# target is behind the throttle; the image size (the Config attribute mib,
# tmib or rc1mib); the source image (None: BENCH_CC_CONTENT); the target's
# extra create options (-o, after compression_type); whether strace
# counting runs follow; further rows that the same runs measure (with goal
# none).
Row = collections.namedtuple(
    'Row', 'name label goal kind throttle size content create count subrows')
SubRow = collections.namedtuple('SubRow', 'name label goal')
ROWS = (
    Row(name='convert',
        label='qemu-img convert -c -t none, {mib} MiB {content} qcow2 -> '
              'qcow2 (O_DIRECT target)',
        goal='notslower', kind='convert', throttle=False, size='mib',
        content=None, create='', count=True, subrows=()),
    Row(name='throttle',
        label='same convert, target behind a throttle node ({iops} IOPS '
              'total, {align}-byte blocks), {tmib} MiB {content} image',
        goal='speedup3', kind='convert', throttle=True, size='tmib',
        content=None, create='', count=False, subrows=()),
    Row(name='backup',
        label='backup job, sync=full compress=on, {mib} MiB {content} image, '
              'until the target is closed',
        goal='notslower', kind='backup', throttle=False, size='mib',
        content=None, create='', count=True,
        subrows=(SubRow(name='backup-job',
                        label='backup job, sync=full compress=on, {mib} MiB: '
                              'start until BLOCK_JOB_COMPLETED',
                        goal='none'),)),
    Row(name='convert-rc1',
        label='same convert into a target created with refcount_bits=1, '
              '{rc1mib} MiB compressible image',
        goal='none', kind='convert', throttle=False, size='rc1mib',
        content='compressible', create='refcount_bits=1', count=False,
        subrows=()),
)

# The goal on the disk usage: allocated size of the target with the cache
# on at most this times stock's (the median of the rounds each).
DISK_GOAL = 1.02

# The storage daemon's block graph for the backup row ({extra}: the
# variant's qcow2 options); the report prints it too.
QSD_BLOCKDEVS = [
    'driver=file,node-name=src-file,filename={src},read-only=on',
    'driver=qcow2,node-name=src,file=src-file,read-only=on',
    'driver=file,node-name=tgt-file,filename={tgt},cache.direct=on',
    'driver=qcow2,node-name=tgt,file=tgt-file,cache.direct=on{extra}',
]
QSD_MONITOR = ['--chardev', 'socket,id=qmp0,path={sock},server=on,wait=off',
               '--monitor', 'chardev=qmp0']
BACKUP_ARGS = {'job-id': 'job0', 'device': 'src', 'target': 'tgt',
               'sync': 'full', 'compress': True}


class RunFailed(Exception):
    """One run of one variant failed: noted, no value recorded."""


class Config:
    """The settings of the run, from the environment (as the shell's)."""

    def __init__(self):
        e = os.environ
        self.stock = absdir(e.get('BENCH_CC_STOCK') or env.STOCK)
        self.patched = absdir(e.get('BENCH_CC_PATCHED') or env.PATCHED)
        self.quick = e.get('BENCH_CC_QUICK', '0') == '1'
        self.mode = 'quick' if self.quick else 'full'
        self.rounds = env_int('BENCH_CC_ROUNDS', 1 if self.quick else 3)
        self.backup_rounds = env_int('BENCH_CC_BACKUP_ROUNDS',
                                     1 if self.quick else 9)
        self.warmup = env_int('BENCH_CC_WARMUP', 0 if self.quick else 1, 0)
        if self.warmup > 1:
            env.die('BENCH_CC_WARMUP must be 0 or 1')
        self.mib = env_int('BENCH_CC_MIB', 64 if self.quick else 1024)
        self.tmib = env_int('BENCH_CC_THROTTLE_MIB', 32 if self.quick else 256)
        self.rc1mib = env_int('BENCH_CC_RC1_MIB', 32 if self.quick else 128)
        self.iops = env_int('BENCH_CC_IOPS', 500)
        self.align = env_int('BENCH_CC_ALIGN', 4096)
        self.content = e.get('BENCH_CC_CONTENT') or 'mixed'
        if self.content not in ('mixed', 'compressible'):
            env.die('BENCH_CC_CONTENT must be mixed or compressible')
        self.compression = e.get('BENCH_CC_COMPRESSION') or 'zlib'
        if self.compression not in ('zlib', 'zstd'):
            env.die('BENCH_CC_COMPRESSION must be zlib or zstd')
        self.cc_size = e.get('BENCH_CC_SIZE', '')
        if self.cc_size and not re.fullmatch(r'[1-9][0-9]*', self.cc_size):
            env.die('BENCH_CC_SIZE must be a number of bytes')
        self.count = (e.get('BENCH_CC_COUNT') or '1') == '1'
        self.rows_re = (e.get('BENCH_CC_ROWS')
                        or 'convert|throttle|backup|convert-rc1')
        try:
            re.compile(self.rows_re)
        except re.error as err:
            env.die('BENCH_CC_ROWS is not a regular expression: %s' % err)
        if self.content == 'mixed' and self.compression == 'zlib':
            default = os.path.join(env.DOCS, 'benchmarks-ccache.md')
        else:
            default = os.path.join(env.DOCS, 'benchmarks-ccache-%s-%s.md' % (
                self.content, self.compression))
        self.out = e.get('BENCH_CC_OUT') or default
        self.cache_dir = (e.get('BENCH_CC_CACHE')
                          or os.path.join(env.QS_CACHE, 'bench'))
        self.tmpbase = e.get('BENCH_CC_TMP') or '/var/tmp'
        self.wait_idle = env_int('BENCH_CC_WAIT_IDLE', 0, 0)
        try:
            self.maxload = float(e.get('BENCH_CC_MAXLOAD') or 1.5)
        except ValueError:
            env.die('BENCH_CC_MAXLOAD must be a number')
        self.timeout = env_int('BENCH_CC_TIMEOUT', 3600)
        self.img = os.path.join(self.stock, 'qemu-img')   # always stock
        self.supported = False          # set by probe_cache()
        self.variants = []
        self.count_variants = []

    def want(self, row):
        return re.fullmatch('(%s)' % self.rows_re, row) is not None

    def vdir(self, v):
        return self.stock if VARIANTS[v].build == 'stock' else self.patched

    def vopts(self, v):
        """The qcow2 options that select the variant (appended to the
        target's qcow2 node)."""
        cache = VARIANTS[v].cache
        if cache is None:
            return ''
        if cache == 'on' and self.cc_size:
            return ',compressed-write-cache=on,compressed-write-cache-size=' \
                + self.cc_size
        return ',compressed-write-cache=' + cache

    def fmt(self, text):
        return text.format(mib=self.mib, tmib=self.tmib, rc1mib=self.rc1mib,
                           iops=self.iops, align=self.align,
                           content=self.content)


def absdir(path):
    if not os.path.isdir(path):
        env.die('no such directory: ' + path)
    return os.path.realpath(path)


def env_int(name, default, minimum=1):
    """qsbench.env.env_int, with the shell's strictness (no leading 0)."""
    v = os.environ.get(name, '')
    if v not in ('', '0') and v.startswith('0'):
        env.die('%s must be an integer of at least %d' % (name, minimum))
    return env.env_int(name, default, minimum)


def one_line(text, limit):
    return ' '.join(text.split())[:limit]


def run(argv, **kw):
    """A short helper command (qemu-img create/compare/check/map)."""
    return subprocess.run(argv, stdin=subprocess.DEVNULL, text=True,
                          capture_output=True, **kw)


def disk_usage(path):
    """(allocated, apparent) bytes of a file: what it takes on the disk
    (holes and unused ends of host clusters excluded) and its size."""
    st = os.stat(path)
    return st.st_blocks * 512, st.st_size


def read_tail(path, n):
    try:
        with open(path, errors='replace') as f:
            return f.read()[-n:]
    except OSError:
        return ''


def count_syscalls(log, target, raw, fsize):
    """
    Counts the syscalls of an `strace -f -y` log on one file (target: its
    real path); raw: sorted host ranges (start, end) of the target's data
    clusters stored uncompressed.  Reads after the first write are the RMW
    reads (the target is new and its metadata cached).
    """
    raw_starts = [a for a, b in raw]

    def in_raw(a, b):
        i = bisect.bisect_right(raw_starts, a) - 1
        return i >= 0 and raw[i][0] <= a and b <= raw[i][1]

    io = ('pread64', 'pwrite64', 'preadv', 'pwritev', 'preadv2', 'pwritev2')
    c = dict(writes=0, writes_full=0, writes_other=0, bytes_written=0,
             writes_raw_data=0, reads_open=0, reads_rmw=0, reads_rmw_bytes=0,
             reads_failed=0, fdatasync=0, io_uring_enter=0, opens_rw=0,
             opens_rw_direct=0)
    extents = []
    written = False

    def handle(call):
        nonlocal written
        name = call.split('(', 1)[0]
        if name == 'io_uring_enter':
            c['io_uring_enter'] += 1
            return
        if name == 'openat':
            m = re.search(r'= (\d+)<([^>]*)>\s*$', call)
            if m and m.group(2) == target and 'O_RDWR' in call:
                c['opens_rw'] += 1
                if 'O_DIRECT' in call:
                    c['opens_rw_direct'] += 1
            return
        m = re.match(r'(\w+)\((\d+)<([^>]*)>', call)
        if not m or m.group(3) != target:
            return
        if name in ('fdatasync', 'fsync'):
            c['fdatasync'] += 1
            return
        if name not in io:
            return
        if name.endswith('64'):
            a = re.search(r', (\d+), (\d+)\s*\)\s*= (-?\d+)', call)
        else:
            a = re.search(r'\], \d+, (\d+)(?:, [^)]*)?\s*\)\s*= (-?\d+)', call)
        if not a:
            env.die('cannot parse strace line: ' + call)
        off = int(a.group(a.lastindex - 1))
        ret = int(a.group(a.lastindex))
        if 'read' in name:
            if ret < 0:
                c['reads_failed'] += 1
            if written:
                c['reads_rmw'] += 1
                c['reads_rmw_bytes'] += max(ret, 0)
            else:
                c['reads_open'] += 1
            return
        written = True
        if ret > 0:
            extents.append((off, off + ret))
            if in_raw(off, off + ret):
                c['writes_raw_data'] += 1
        c['writes'] += 1
        c['bytes_written'] += max(ret, 0)
        if ret > 0 and off % CLUSTER == 0 and ret % CLUSTER == 0:
            c['writes_full'] += 1
        else:
            c['writes_other'] += 1

    pending = {}
    with open(log, errors='replace') as f:
        for line in f:
            m = re.match(r'(\d+)\s+(.*)', line.rstrip('\n'))
            if not m:
                continue
            pid, rest = m.groups()
            if rest.startswith('<... '):
                r = re.match(r'<\.\.\. \w+ resumed>(.*)', rest)
                if not r or pid not in pending:
                    continue
                rest = pending.pop(pid) + r.group(1)
            elif rest.endswith('<unfinished ...>'):
                pending[pid] = rest[:-len('<unfinished ...>')]
                continue
            if rest.startswith(('+++', '---')):
                continue
            handle(rest)
    covered, end = 0, 0
    for a, b in sorted(extents):
        if b > end:
            covered += b - max(a, end)
            end = b
    c['file_size'] = fsize
    c['written_extent_bytes'] = covered
    c['reads'] = c['reads_open'] + c['reads_rmw']
    c['total'] = c['reads'] + c['writes']
    c['total_no_raw'] = c['total'] - c['writes_raw_data']
    return c


class Bench:
    """One run of the benchmark: the rows' runners, their results, the
    report."""

    def __init__(self, cfg):
        self.cfg = cfg
        self.work = None
        self.vals = {}      # row -> round -> variant -> seconds
        self.cpus = {}      # row -> variant -> [user+sys seconds]
        self.failed = {}    # row -> variant -> failed measured runs
        self.nfailed = 0    # failed runs of any kind
        self.counts = {}    # row -> variant -> syscall counts
        self.disk = {}      # row -> variant -> [(allocated, apparent)]
        self.ver = []       # (row, round, variant, ok, detail)
        self.notes = []
        self.meta = []      # (row, label, goal, commands)
        self.last_bin_ids = None

    def note(self, msg):
        env.log(msg)
        self.notes.append(msg)

    # --- machine state -------------------------------------------------
    def is_idle(self):
        return not env.busy_processes(BUSY_RE) and \
            float(env.loadavg(1)) < self.cfg.maxload

    def bin_ids(self):
        """The binaries under test, to notice a rebuild during the run
        (one being relinked may be missing for a moment: time 0, size 0)."""
        ids = []
        for b in (self.cfg.stock, self.cfg.patched):
            for t in ('qemu-img', 'storage-daemon/qemu-storage-daemon'):
                path = os.path.join(b, t)
                try:
                    st = os.stat(path)
                except FileNotFoundError:
                    ids.append((path, 0, 0))
                    continue
                ids.append((path, int(st.st_mtime), st.st_size))
        return ids

    def track_build(self, where):
        """Notes when the binaries changed since the last call, so that the
        report says exactly which runs used which build."""
        now = self.bin_ids()
        if now != self.last_bin_ids:
            def mtimes(ids):
                return ', '.join('%s %s (%d bytes)' % (
                    os.path.relpath(n, env.TOP), time.strftime(
                        '%H:%M:%S', time.gmtime(m)), s) for n, m, s in ids)
            self.note('The binaries under test CHANGED (rebuilt by someone '
                      'else) before %s: the runs before it used the previous '
                      'build. Modification times before: %s; now: %s.' % (
                          where, mtimes(self.last_bin_ids), mtimes(now)))
            self.last_bin_ids = now

    def check_fs(self):
        """The target's file system: real, with O_DIRECT, enough room."""
        cfg = self.cfg
        fst = run(['findmnt', '-n', '-o', 'FSTYPE', '-T', self.work])
        self.fstype = fst.stdout.strip() if fst.returncode == 0 else \
            run(['stat', '-f', '-c', '%T', self.work]).stdout.strip()
        if self.fstype == 'tmpfs':
            env.die('%s is tmpfs (no O_DIRECT): set BENCH_CC_TMP to a '
                    'directory on a disk file system' % cfg.tmpbase)
        test = os.path.join(self.work, 'odirect.test')
        buf = mmap.mmap(-1, 16384)      # page-aligned, as O_DIRECT needs
        try:
            fd = os.open(test, os.O_WRONLY | os.O_CREAT | os.O_DIRECT, 0o600)
            try:
                os.write(fd, buf)
            finally:
                os.close(fd)
        except OSError as e:
            env.die('%s does not support O_DIRECT (%s): set BENCH_CC_TMP' % (
                cfg.tmpbase, e))
        os.unlink(test)
        need = max(cfg.mib, cfg.tmib, cfg.rc1mib) * 3 + 1024
        st = os.statvfs(self.work)
        avail = st.f_bavail * st.f_frsize >> 20
        if avail < need:
            env.die('%s has %d MiB free, need %d MiB' % (
                cfg.tmpbase, avail, need))
        self.fsdev = run(['df', '--output=source', self.work]) \
            .stdout.strip().split('\n')[-1]

    # --- variants: does the patched build have the cache? ----------------
    def probe_cache(self):
        cfg = self.cfg
        d = os.path.join(self.work, 'probe')
        os.makedirs(d)
        s, t = os.path.join(d, 's.qcow2'), os.path.join(d, 't.qcow2')
        for f in (s, t):
            run([cfg.img, 'create', '-q', '-f', 'qcow2', f, '1M'], check=True)

        def convert(opts):
            return run([os.path.join(cfg.patched, 'qemu-img'), 'convert',
                        '-q', '-c', '-t', 'none', '-f', 'qcow2', '-n',
                        '--target-image-opts', s,
                        'driver=qcow2,file.driver=file,file.filename=%s%s'
                        % (t, opts)])
        r = convert(',compressed-write-cache=off')
        out = r.stdout + r.stderr
        if r.returncode == 0:
            cfg.supported = True
            if cfg.cc_size:
                r = convert(cfg.vopts('on'))
                if r.returncode != 0:
                    env.die('the patched build refuses '
                            'compressed-write-cache-size=%s: %s'
                            % (cfg.cc_size, r.stdout + r.stderr))
            if convert(',compressed-write-cache=sure').returncode == 0:
                env.die('the patched build accepts compressed-write-cache='
                        'sure: the probe is not reliable')
        elif "does not support the option 'compressed-write-cache'" \
                not in out:
            env.die('probing the patched build failed for another reason: '
                    + out)
        shutil.rmtree(d)
        if cfg.supported:
            cfg.variants = ['stock', 'off', 'on']
            # counting runs only: the patched build with =auto, which
            # should be on with an O_DIRECT target
            cfg.count_variants = ['stock', 'off', 'on', 'auto']
            env.log('the patched build knows compressed-write-cache: '
                    'variants stock, off, on')
        else:
            cfg.variants = ['stock', 'patched']
            cfg.count_variants = ['stock', 'patched']
            env.log('*** %s/qemu-img does not know the qcow2 option '
                    'compressed-write-cache' % cfg.patched)
            env.log('*** (the cache has not landed in that build): running '
                    'stock and the patched build')
            env.log('*** WITHOUT the option only; the off/on variants are '
                    'skipped and no goal is evaluated')
            self.note('The patched build (%s) does not know compressed-write-'
                      'cache: variants off and on skipped, goals not '
                      'evaluated.' % cfg.patched)

    # --- images and their checks -------------------------------------------
    def src_image(self, row):
        """The row's source image (generated once)."""
        return env.source_image(row.content or self.cfg.content,
                                self.cfg.cache_dir,
                                getattr(self.cfg, row.size), self.cfg.img,
                                self.work)

    def create_opts(self, row):
        """The -o options of the row's targets."""
        return ','.join(['compression_type=' + self.cfg.compression]
                        + ([row.create] if row.create else []))

    def new_target(self, row):
        """A new, empty target for one run of the row."""
        tgt = os.path.join(self.work, 'target.qcow2')
        if os.path.exists(tgt):
            os.unlink(tgt)
        run([self.cfg.img, 'create', '-q', '-f', 'qcow2', '-o',
             self.create_opts(row), tgt, '%dM' % getattr(self.cfg, row.size)],
            check=True)
        return tgt

    def verify(self, row, rnd, v, src, tgt):
        """Stock qemu-img compare and check of one run's target."""
        img, ok, detail = self.cfg.img, 'ok', ''
        r = run([img, 'compare', '-q', '-f', 'qcow2', '-F', 'qcow2', src, tgt])
        if r.returncode != 0:
            ok, detail = 'FAIL', 'compare: ' + one_line(r.stdout + r.stderr,
                                                        300)
        r = run([img, 'check', '-q', '-f', 'qcow2', tgt])
        if r.returncode != 0:
            ok = 'FAIL'
            detail += ' check: ' + one_line(r.stdout + r.stderr, 300)
        self.ver.append((row, str(rnd), v, ok, detail))
        if ok != 'ok':
            self.note('CORRECTNESS FAILURE: %s round %s, %s: %s' % (
                row, rnd, v, detail))

    def count_target(self, trace, tgt):
        """The syscall counts of a counting run on tgt (still there),
        with the `qemu-img check` summary of the target."""
        r = run([self.cfg.img, 'map', '--output=json', '-f', 'qcow2', tgt],
                check=True)
        raw = sorted((e['offset'], e['offset'] + e['length'])
                     for e in json.loads(r.stdout)
                     if e.get('data') and not e.get('compressed')
                     and 'offset' in e)
        c = count_syscalls(trace, os.path.realpath(tgt), raw,
                           os.path.getsize(tgt))
        # "N/M = x% allocated, y% fragmented, z% compressed clusters;
        # end offset E"
        out = run([self.cfg.img, 'check', '-f', 'qcow2', tgt])
        s = e = ''
        for line in (out.stdout + out.stderr).splitlines():
            if 'compressed clusters' in line:
                s = line
            if 'Image end offset' in line:
                e = line.split()[-1]
        c['check'] = '%s; end offset %s' % (s, e)
        return c

    # --- convert ---------------------------------------------------------
    def conv_cmd(self, v, src, tgt, throttle):
        """The argv of qemu-img convert, without the binary."""
        cfg = self.cfg
        if throttle:
            return ['convert', '-c', '-t', 'none', '-f', 'qcow2', '-n',
                    '--object', 'throttle-group,id=tg0,x-iops-total=%d'
                    % cfg.iops, '--target-image-opts', src,
                    'driver=qcow2,file.driver=blkdebug,file.align=%d,'
                    'file.image.driver=throttle,file.image.throttle-group=tg0,'
                    'file.image.file.driver=file,file.image.file.filename=%s%s'
                    % (cfg.align, tgt, cfg.vopts(v))]
        if not cfg.vopts(v):
            return ['convert', '-c', '-t', 'none', '-f', 'qcow2', '-O',
                    'qcow2', '-n', src, tgt]
        return ['convert', '-c', '-t', 'none', '-f', 'qcow2', '-n',
                '--target-image-opts', src,
                'driver=qcow2,file.driver=file,file.filename=%s%s'
                % (tgt, cfg.vopts(v))]

    def conv_once(self, row, v, rnd):
        """A timed convert: ({row: wall seconds}, CPU seconds, disk usage
        of the target)."""
        src = self.src_image(row)
        tgt = self.new_target(row)
        logf = os.path.join(self.work, 'conv.log')
        argv = [os.path.join(self.cfg.vdir(v), 'qemu-img')] + \
            self.conv_cmd(v, src, tgt, row.throttle)
        rc, wall, cpu = env.run_timed(argv, logf, self.cfg.timeout)
        if rc != 0:
            os.unlink(tgt)
            raise RunFailed('%s %s (round %s): qemu-img convert failed (%d): '
                            '%s' % (row.name, v, rnd, rc,
                                    one_line(read_tail(logf, 800), 800)))
        usage = disk_usage(tgt)
        self.verify(row.name, rnd, v, src, tgt)
        os.unlink(tgt)
        return {row.name: wall}, cpu, usage

    def conv_count(self, row, v):
        """The strace counting run of a convert (not timed)."""
        cfg = self.cfg
        src = self.src_image(row)
        tgt = self.new_target(row)
        trace = os.path.join(self.work, 'strace.log')
        logf = os.path.join(self.work, 'conv.log')
        argv = STRACE + ['-o', trace, '-e', 'trace=' + TRACE_SET,
                         os.path.join(cfg.vdir(v), 'qemu-img')] + \
            self.conv_cmd(v, src, tgt, False)
        rc = env.run_timed(argv, logf, cfg.timeout)[0]
        try:
            if rc != 0:
                raise RunFailed('%s counting run, %s: FAILED: %s' % (
                    row.name, v, one_line(read_tail(logf, 300), 300)))
            self.verify(row.name, 'count', v, src, tgt)
            return self.count_target(trace, tgt)
        finally:
            for f in (tgt, trace):
                if os.path.exists(f):
                    os.unlink(f)

    # --- backup ----------------------------------------------------------
    def qsd_backup(self, v, src, tgt, trace=None):
        """
        Starts qemu-storage-daemon (under strace if trace is a path), runs
        blockdev-backup sync=full compress=on, waits for the job's end,
        closes the target (blockdev-del: everything on disk) and quits.
        Returns (seconds until BLOCK_JOB_COMPLETED, seconds until the target
        is closed, CPU seconds of the daemon).  A job that ends with an
        error, is cancelled or does not copy everything raises RunFailed.
        """
        from qemu.qmp import QMPError
        from qemu.qmp.legacy import QEMUMonitorProtocol
        cfg = self.cfg
        rundir = tempfile.mkdtemp(prefix='run.', dir=self.work)
        sock = os.path.join(rundir, 'qmp.sock')
        pidfile = os.path.join(rundir, 'qsd.pid')
        qlog = os.path.join(rundir, 'qsd.log')
        argv = [os.path.join(cfg.vdir(v),
                             'storage-daemon/qemu-storage-daemon')]
        for b in QSD_BLOCKDEVS:
            argv += ['--blockdev', b.format(src=src, tgt=tgt,
                                            extra=cfg.vopts(v))]
        argv += [a.format(sock=sock) for a in QSD_MONITOR]
        argv += ['--pidfile', pidfile]
        if trace:
            argv = STRACE + ['-o', trace, '-e', 'trace=' + TRACE_SET] + argv

        def daemon(state):
            return 'qemu-storage-daemon %s; its output: %s' % (
                state, one_line(read_tail(qlog, 1500), 1500) or 'none')

        ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        try:
            with open(qlog, 'wb') as out:
                p = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                     stdout=out, stderr=subprocess.STDOUT)
        except OSError as e:
            shutil.rmtree(rundir)
            raise RunFailed('cannot run %s: %s' % (argv[0], e)) from e
        qsd_pid, qmp, ok = None, None, False
        try:
            deadline = time.monotonic() + 30
            while not (os.path.exists(sock) and os.path.exists(pidfile)):
                if p.poll() is not None or time.monotonic() > deadline:
                    raise RunFailed(daemon('did not start'))
                time.sleep(0.05)
            time.sleep(0.05)
            with open(pidfile) as f:
                qsd_pid = int(f.read().strip())
            qmp = QEMUMonitorProtocol(sock)
            qmp.settimeout(cfg.timeout)
            qmp.connect()
            t0 = time.monotonic()
            qmp.cmd('blockdev-backup', **BACKUP_ARGS)
            ev = self.wait_job(qmp, p, t0 + cfg.timeout, daemon)
            t1 = time.monotonic()
            d = ev['data']
            if ev['event'] != 'BLOCK_JOB_COMPLETED' or 'error' in d \
                    or d.get('offset') != d.get('len'):
                raise RunFailed('backup job failed: %s %s' % (
                    ev['event'], json.dumps(d, sort_keys=True)))
            qmp.cmd('blockdev-del', **{'node-name': 'tgt'})
            qmp.cmd('blockdev-del', **{'node-name': 'tgt-file'})
            t2 = time.monotonic()
            try:
                qmp.cmd('quit')
            except (QMPError, OSError, EOFError):
                pass            # the daemon may close the socket first
            p.wait(60)
            ok = True
        except (QMPError, OSError, asyncio.TimeoutError,
                subprocess.TimeoutExpired) as e:
            raise RunFailed('%s: %s (%s)' % (type(e).__name__, e, daemon(
                'running' if p.poll() is None
                else 'exit status %s' % p.returncode))) from e
        finally:
            if qmp is not None:
                try:
                    qmp.close()
                except (QMPError, OSError, EOFError):
                    pass        # the daemon closed the socket first
            if not ok:
                if qsd_pid and p.poll() is None:
                    try:
                        os.kill(qsd_pid, signal.SIGTERM)
                    except ProcessLookupError:
                        pass
                env.stop_process(p, 10)
            shutil.rmtree(rundir)
        ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
        return t1 - t0, t2 - t0, cpu

    @staticmethod
    def wait_job(qmp, p, deadline, daemon):
        """The event that ends job0: BLOCK_JOB_COMPLETED (with or without
        error) or BLOCK_JOB_CANCELLED."""
        while True:
            if time.monotonic() > deadline:
                raise RunFailed('backup timed out (%s)' % daemon('running'))
            if p.poll() is not None:
                raise RunFailed(daemon('died: exit status %s' % p.returncode))
            try:
                ev = qmp.pull_event(wait=1.0)
            except asyncio.TimeoutError:
                continue
            if ev and ev.get('event') in ('BLOCK_JOB_COMPLETED',
                                          'BLOCK_JOB_CANCELLED') \
                    and ev['data'].get('device') == 'job0':
                return ev

    def backup_once(self, row, v, rnd):
        """A timed backup: ({backup: until closed, backup-job: until
        BLOCK_JOB_COMPLETED}, CPU seconds of the daemon, disk usage of the
        target)."""
        src = self.src_image(row)
        tgt = self.new_target(row)
        try:
            job, total, cpu = self.qsd_backup(v, src, tgt)
        except RunFailed as e:
            os.unlink(tgt)
            raise RunFailed('backup %s (round %s): %s' % (v, rnd, e)) from e
        usage = disk_usage(tgt)
        self.verify(row.name, rnd, v, src, tgt)
        os.unlink(tgt)
        return {'backup': total, 'backup-job': job}, cpu, usage

    def backup_count(self, row, v):
        """The strace counting run of a backup (not timed)."""
        src = self.src_image(row)
        tgt = self.new_target(row)
        trace = os.path.join(self.work, 'strace.log')
        try:
            self.qsd_backup(v, src, tgt, trace)
            self.verify(row.name, 'count', v, src, tgt)
            return self.count_target(trace, tgt)
        except RunFailed as e:
            raise RunFailed('backup counting run, %s: FAILED: %s' % (v, e)) \
                from e
        finally:
            for f in (tgt, trace):
                if os.path.exists(f):
                    os.unlink(f)

    # --- the rows ------------------------------------------------------------
    def row_commands(self, row):
        """The row's commands for the report; a row whose source or
        target differs from the others' says how first."""
        cfg = self.cfg
        head = []
        if row.content and row.content != cfg.content:
            head.append('# SRC: %s/%s-%dM-v1.qcow2' % (
                cfg.cache_dir, row.content, getattr(cfg, row.size)))
        if row.create:
            head.append('# TGT: qemu-img create -f qcow2 -o %s TGT %dM' % (
                self.create_opts(row), getattr(cfg, row.size)))
        if row.kind == 'backup':
            return head + ['qemu-storage-daemon + QMP (see below)']
        return head + ['%s: qemu-img %s' % (v, ' '.join(
            self.conv_cmd(v, 'SRC', 'TGT', row.throttle)))
            for v in cfg.variants]

    def run_rounds(self, row):
        """A warm-up round (unless BENCH_CC_WARMUP=0), then the measured
        rounds, the variants alternating in each."""
        cfg = self.cfg
        once = self.conv_once if row.kind == 'convert' else self.backup_once
        rounds = cfg.backup_rounds if row.kind == 'backup' else cfg.rounds
        for i in range(1 - cfg.warmup, rounds + 1):
            if i:
                self.note('%s round %d starts at load %s' % (
                    row.name, i, env.loadavg()))
            for v in cfg.variants:
                self.track_build('%s round %d (%s), %s' % (
                    row.name, i, 'measured' if i else 'warm-up', v))
                try:
                    values, cpu, usage = once(row, v, i)
                except RunFailed as e:
                    self.nfailed += 1
                    self.note(str(e))
                    self.note('%s round %d, %s: the run FAILED (no value '
                              'recorded)' % (row.name, i, v))
                    if i:
                        for r in (row.name,) + tuple(s.name
                                                     for s in row.subrows):
                            f = self.failed.setdefault(r, {})
                            f[v] = f.get(v, 0) + 1
                    continue
                if not i:
                    env.log('%s warm-up %s: %.3f s' % (row.name, v,
                                                       values[row.name]))
                    continue
                env.log('%s round %d %s: %.3f s' % (row.name, i, v,
                                                    values[row.name]))
                for r, x in values.items():
                    self.vals.setdefault(r, {}).setdefault(i, {})[v] = x
                self.cpus.setdefault(row.name, {}).setdefault(v, []) \
                    .append(cpu)
                self.disk.setdefault(row.name, {}).setdefault(v, []) \
                    .append(usage)

    def run_counts(self, row):
        count = self.conv_count if row.kind == 'convert' \
            else self.backup_count
        counts = self.counts.setdefault(row.name, {})  # FAILED rows if none
        for v in self.cfg.count_variants:
            self.track_build('%s counting run, %s' % (row.name, v))
            try:
                c = count(row, v)
            except RunFailed as e:
                self.nfailed += 1
                self.note(str(e))
                continue
            counts[v] = c
            env.log('%s %s: %s' % (row.name, v, json.dumps(c)))

    def run(self):
        cfg = self.cfg
        for row in ROWS:
            if not cfg.want(row.name):
                continue
            self.meta.append((row.name, cfg.fmt(row.label), row.goal,
                              self.row_commands(row)))
            for s in row.subrows:
                self.meta.append((s.name, cfg.fmt(s.label), s.goal,
                                  ['same runs as the row above']))
            self.run_rounds(row)
            if row.count and cfg.count:
                self.run_counts(row)

    def main(self):
        cfg = self.cfg
        os.makedirs(cfg.tmpbase, exist_ok=True)
        self.work = tempfile.mkdtemp(prefix='qcow2-ccache.', dir=cfg.tmpbase)
        try:
            self.check_fs()
            if cfg.wait_idle > 0 and not self.is_idle():
                env.log('waiting up to %d s for the machine to be idle '
                        "(load < %s, nothing matching '%s')"
                        % (cfg.wait_idle, cfg.maxload, BUSY_RE))
                deadline = time.monotonic() + cfg.wait_idle
                while time.monotonic() < deadline and not self.is_idle():
                    time.sleep(15)
            self.last_bin_ids = self.bin_ids()
            self.tree_head = git_head()
            self.load_start = env.loadavg()
            self.date_start = env.utc_stamp()
            self.busy_start = env.busy_processes(BUSY_RE)
            self.idle_start = self.is_idle()
            if self.busy_start:
                env.log('busy processes at the start: '
                        + ';'.join(self.busy_start))
            self.probe_cache()
            env.log('mode %s, %d measured rounds (warm-up: %d), variants %s, '
                    'work dir %s (%s on %s)' % (
                        cfg.mode, cfg.rounds, cfg.warmup,
                        ' '.join(cfg.variants), self.work, self.fstype,
                        self.fsdev))
            self.run()
            self.load_end = env.loadavg()
            self.busy_end = env.busy_processes(BUSY_RE)
            self.track_build('the end of the run (after the last run)')
            self.date_end = env.utc_stamp()
        finally:
            shutil.rmtree(self.work, ignore_errors=True)
        text = Report(self).text()
        write_out(cfg.out, text)
        print(text, end='')
        env.log('wrote ' + cfg.out)
        if any(x[3] != 'ok' for x in self.ver):
            env.log('error: some runs were not verified clean (see %s)'
                    % cfg.out)
            return 1
        if self.nfailed:
            env.log('error: some runs FAILED (see %s)' % cfg.out)
            return 1
        return 0


def git_head():
    """The patched tree's commit, and whether it has uncommitted
    changes."""
    r = run(['git', '-C', env.TREE, 'log', '-1', '--format=%h %s'])
    head = r.stdout.strip() if r.returncode == 0 else '?'
    r = run(['git', '-C', env.TREE, 'status', '--porcelain',
             '--untracked-files=no'])
    if r.returncode == 0 and r.stdout.strip():
        head += ' (plus uncommitted changes in the tree)'
    return head


class Report:
    """The markdown report (the same headings and tables as the shell's)."""

    def __init__(self, bench):
        self.b = bench
        self.cfg = bench.cfg
        self.lines = []
        self.goals = []     # (goal, measured, verdict)

    def w(self, line=''):
        self.lines.append(line)

    def text(self):
        self.header()
        self.machine()
        wall = self.wall_clock()
        self.cpu_table()
        self.time_goals(wall)
        self.disk_table()
        self.io_counts()
        self.goals_section()
        self.commands()
        return '\n'.join(self.lines) + '\n'

    def header(self):
        cfg, b, w = self.cfg, self.b, self.w
        w('# Benchmarks: qcow2 compressed write cache')
        w()
        w('Generated by `tools/bench.py ccache` (%s mode: %d measured round%s'
          ' of the convert rows, %d of the backup row%s).'
          % (cfg.mode, cfg.rounds, '' if cfg.rounds == 1 else 's',
             cfg.backup_rounds, ', each after one warm-up round'
             if cfg.warmup else ', no warm-up'))
        w('Do not edit by hand: rerun the script.')
        w()
        if not cfg.supported:
            w('> **The patched build does not know the qcow2 option '
              '`compressed-write-cache`**')
            w('> (the cache has not landed in it): only stock and the patched '
              'build without')
            w('> the option were run, and no goal is evaluated.')
            w()
        w('> Taken %s to %s on a shared 2-core machine; load average %s at '
          'the start, %s at the end.' % (b.date_start, b.date_end,
                                         b.load_start, b.load_end))
        if b.idle_start:
            w('> The machine was idle at the start (1-minute load < %s, no '
              'build, test,' % cfg.maxload)
            w('> benchmark or stress process running).')
        else:
            w('> **The machine was not idle at the start** (1-minute load >= '
              '%s or other' % cfg.maxload)
            w('> work running): the wall-clock rows are indicative only.')
        for label, procs in (('at the start', b.busy_start),
                             ('at the end', b.busy_end)):
            if procs:
                w('> Other processes running %s: %s.' % (label, '; '.join(
                    '`%s`' % x.strip() for x in procs)))
        w('> The I/O counts come from strace and do not depend on the load.')
        w()

    def machine(self):
        cfg, b, w = self.cfg, self.b, self.w

        def rel(p):
            return os.path.relpath(p, env.TOP) \
                if p.startswith(env.TOP + '/') else p
        img = os.path.join(cfg.patched, 'qemu-img')
        blk = os.path.basename(b.fsdev)
        lbs = env.command_output(
            'cat /sys/class/block/%s/queue/logical_block_size 2>/dev/null'
            ' || cat /sys/class/block/%s/../queue/logical_block_size'
            % (blk, blk))
        w('## Machine')
        w()
        self.lines += md_table(['', ''], [list(kv) for kv in env.machine_rows() + [
            ('QEMU', '10.2.2 (Debian 1:10.2.2+ds-1); stock = `%s`, patched = '
             '`%s`' % (rel(cfg.stock), rel(cfg.patched))),
            ('patched tree', '`build/qemu` at %s; `%s/qemu-img` built %s' % (
                b.tree_head.replace('|', '/'), rel(cfg.patched),
                env.utc_stamp(os.stat(img).st_mtime))),
            ('targets', '`%s` (%s on %s, logical block size %s bytes), qcow2, '
             '64 KiB clusters, target opened with O_DIRECT' % (
                 cfg.tmpbase, b.fstype, b.fsdev, lbs)),
            ('sources', '`%s/%s-<N>M-v1.qcow2`, read through the page cache'
             % (cfg.cache_dir, cfg.content)),
            ("targets' compression_type", cfg.compression),
            ('strace', env.command_output('strace -V | head -n 1')),
            ('python', env.command_output([env.PY, '--version'])),
            ('cache size', '`compressed-write-cache-size=%s`' % cfg.cc_size
             if cfg.cc_size
             else 'default (no `compressed-write-cache-size` given)')]])
        w()

    def cell(self, row, v, text):
        """A variant's cell, FAILED where none of its runs recorded a
        value because they failed."""
        if text is None:
            return 'FAILED' if self.b.failed.get(row, {}).get(v) else 'n/a'
        return text

    def wall_clock(self):
        cfg, b, w = self.cfg, self.b, self.w
        others = [v for v in cfg.variants if v != 'stock']
        w('## Wall clock')
        w()
        w('Variants run alternately (%s), seconds, lower is better; median and'
          % ', '.join(cfg.variants))
        w('min-max over the measured rounds; ratio = variant / stock of the '
          'same round.')
        w()
        vlabel = {v: VARIANTS[v].label for v in cfg.variants}
        header = (['row'] + ['%s median (min-max)' % vlabel[v]
                             for v in cfg.variants]
                  + [x for v in others
                     for x in ('%s / stock per round' % vlabel[v], 'median')])
        table = []
        wall = {}
        for row, label, goal, cmd in b.meta:
            rounds = b.vals.get(row, {})
            if not rounds and not b.failed.get(row):
                continue
            cells = []
            for v in cfg.variants:
                xs = [rounds[r][v] for r in sorted(rounds) if v in rounds[r]]
                cells.append(self.cell(row, v, stats.median_range(
                    xs, '{:.2f}'.format) if xs else None))
            rat = {}
            for v in others:
                rs = [rounds[r][v] / rounds[r]['stock'] for r in sorted(rounds)
                      if v in rounds[r] and 'stock' in rounds[r]]
                rat[v] = rs
                cells.append(' '.join('%.3f' % x for x in rs) if rs else 'n/a')
                cells.append('**%.3f**' % stats.median(rs) if rs
                             else 'n/a')
            wall[row] = rat
            table.append([label] + cells)
        self.lines += md_table(header, table)
        w()
        return wall

    def cpu_table(self):
        cfg, b, w = self.cfg, self.b, self.w
        if not b.cpus:
            return
        w('CPU time (user + sys of the process: qemu-img, or '
          'qemu-storage-daemon with its')
        w('start-up) of the same runs, median seconds; wall time below CPU '
          'time / 2')
        w('would mean both cores busy, i.e. a CPU-bound run on this 2-core '
          'machine:')
        w()
        table = []
        for row, label, goal, cmd in b.meta:
            if row not in b.cpus:
                continue
            cells = []
            for v in cfg.variants:
                xs = b.cpus[row].get(v)
                ws = [x[v] for x in b.vals.get(row, {}).values() if v in x]
                cells.append(self.cell(row, v, '%.2f (%.2f)' % (
                    stats.median(xs), stats.median(ws))
                    if xs and ws else None))
            table.append([label] + cells)
        self.lines += md_table(['row'] + ['%s: CPU s (wall s)' % VARIANTS[v].label
                                          for v in cfg.variants], table)
        w()

    def time_goals(self, wall):
        if not self.cfg.supported:
            return
        for row, label, goal, cmd in self.b.meta:
            rs = wall.get(row, {}).get('on')
            med = stats.median(rs) if rs else None
            if goal == 'notslower':
                g = '%s: cache on not slower than stock' % label
                if not rs:
                    self.goals.append((g, 'no data', 'NOT MEASURED'))
                    continue
                lo, hi = stats.median_ci(rs)
                ci = stats.ci_text((lo, hi), '; 95%% CI of the median '
                                   '%.3f-%.3f', '')
                if med <= 1.0:
                    verdict = 'met'
                elif lo <= 1.0:
                    # lo is NaN (never <= 1.0) with fewer than 6 rounds
                    verdict = 'not shown slower (the CI includes 1)'
                else:
                    verdict = 'MISSED'
                self.goals.append((
                    g, 'median on/stock %.3f%s; rounds slower than stock: %d '
                    'of %d (%s)' % (med, ci, sum(1 for x in rs if x > 1.0),
                                    len(rs), ' '.join('%.3f' % x for x in rs)),
                    verdict))
            elif goal == 'speedup3':
                g = '%s: cache on >= 3x faster than stock' % label
                if not rs:
                    self.goals.append((g, 'no data', 'NOT MEASURED'))
                    continue
                bound = ''
                cs = self.b.counts.get('convert', {}).get('stock')
                if cs and cs['writes_raw_data']:
                    # everything passes the throttle: writes and RMW reads
                    # (counted at the file node of the unthrottled convert,
                    # so about the same number); the writes of the clusters
                    # stored uncompressed are the same in every variant
                    bound = ("; limit for this image when I/O-bound: the "
                             "throttle passes about stock's %d writes + %d "
                             "RMW reads vs at least the %d writes of clusters "
                             "stored uncompressed (convert counting run), so "
                             "at most about %.2fx" % (
                                 cs['writes'], cs['reads_rmw'],
                                 cs['writes_raw_data'],
                                 (cs['writes'] + cs['reads_rmw'])
                                 / cs['writes_raw_data']))
                self.goals.append((
                    g, 'median speed-up %.2fx (per round: %s)%s' % (
                        1 / med, ' '.join('%.2fx' % (1 / x) for x in rs),
                        bound),
                    'met' if 1 / med >= 3.0 else 'MISSED'))

    def disk_table(self):
        """The disk usage of the targets per row and variant against
        stock, and the goal that the cache costs no disk space."""
        cfg, b, w = self.cfg, self.b, self.w
        rows = [r for r in ROWS if r.name in b.disk or b.failed.get(r.name)]
        if not rows:
            return
        others = [v for v in cfg.variants if v != 'stock']

        def med(row, v, i):
            xs = [u[i] for u in b.disk.get(row, {}).get(v, ())]
            return stats.median(xs) if xs else None
        w('## Disk usage of the output')
        w()
        w('The target file after each measured run (closed, before its '
          'verification):')
        w('allocated size (`st_blocks` * 512: what it takes on the disk) and, '
          'in')
        w('parentheses, apparent size (`st_size`), MiB, median over the '
          'rounds;')
        w('ratio = median of the variant / median of stock, allocated '
          '(apparent).')
        w()
        table = []
        for row in rows:
            cells = []
            for v in cfg.variants:
                a, s = med(row.name, v, 0), med(row.name, v, 1)
                cells.append(self.cell(row.name, v, '%.1f (%.1f)' % (
                    a / 1048576, s / 1048576) if a is not None else None))
            sa, ss = med(row.name, 'stock', 0), med(row.name, 'stock', 1)
            for v in others:
                a, s = med(row.name, v, 0), med(row.name, v, 1)
                cells.append('**%.3f** (%.3f)' % (a / sa, s / ss)
                             if a is not None and sa else 'n/a')
            table.append([cfg.fmt(row.label)] + cells)
            if not cfg.supported:
                continue
            g = '%s: cache on uses no more disk space than stock (ratio <= ' \
                '%.2f)' % (cfg.fmt(row.label), DISK_GOAL)
            a, s = med(row.name, 'on', 0), med(row.name, 'on', 1)
            if a is None or not sa:
                self.goals.append((g, 'no data', 'NOT MEASURED'))
                continue
            self.goals.append((
                g, 'allocated: stock %.1f MiB, on %.1f MiB: ratio %.3f '
                '(apparent size: stock %.1f MiB, on %.1f MiB: %.3f)' % (
                    sa / 1048576, a / 1048576, a / sa, ss / 1048576,
                    s / 1048576, s / ss),
                'met' if a <= DISK_GOAL * sa else 'MISSED'))
        self.lines += md_table(
            ['row'] + ['%s MiB' % VARIANTS[v].label for v in cfg.variants]
            + ['%s / stock' % VARIANTS[v].label for v in others], table)
        w()

    def io_counts(self):
        cfg, b, w = self.cfg, self.b, self.w
        if not b.counts:
            return
        w('## Host I/O operations on the target file (strace, one separate '
          'run per variant)')
        w()
        w('`strace -f -y -e trace=%s` of the whole command;' % TRACE_SET)
        for line in IO_TEXT:
            w(line)
        if 'auto' in cfg.count_variants:
            w('"patched, cache auto" is a counting run only: the patched '
              'binaries with')
            w('`compressed-write-cache=auto` given (whatever the default), '
              'which should')
            w('enable the cache because the target is opened with O_DIRECT.')
        w()
        w('| ' + ' | '.join(IO_COLUMNS) + ' |')
        w('|' + '---|' * len(IO_COLUMNS))
        for row in b.counts:
            st = b.counts[row].get('stock')
            for v in cfg.count_variants:
                c = b.counts[row].get(v)
                if not c:
                    w('| %s | %s | FAILED |%s' % (
                        row, VARIANTS[v].label, ' |' * (len(IO_COLUMNS) - 3)))
                    continue
                ratio = '%.3f (%.2fx fewer)' % (
                    c['total'] / st['total'], st['total'] / c['total']) \
                    if st and c['total'] and v != 'stock' else '-'
                od = 'yes' if c['opens_rw'] and \
                    c['opens_rw'] == c['opens_rw_direct'] else \
                    '**NO** (%d of %d)' % (c['opens_rw_direct'], c['opens_rw'])
                cover = '%.1f%% of %.1f MiB' % (
                    100.0 * c['written_extent_bytes'] / max(c['file_size'], 1),
                    c['file_size'] / 1048576)
                if c['written_extent_bytes'] < 0.8 * c['file_size']:
                    cover = '**%s**' % cover
                ratio2 = '%.3f (%.2fx fewer)' % (
                    c['total_no_raw'] / st['total_no_raw'],
                    st['total_no_raw'] / c['total_no_raw']) \
                    if st and c['total_no_raw'] and v != 'stock' else '-'
                w('| %s | %s | %d | %s | %d | %d | %d | %d | %d | %s | %d | '
                  '%d | %.1f | %s | %d | %s | %s |' % (
                      row, VARIANTS[v].label, c['total'], ratio, c['writes'],
                      c['writes_full'], c['writes_other'],
                      c['writes_raw_data'], c['total_no_raw'], ratio2,
                      c['reads_rmw'], c['reads_open'],
                      c['bytes_written'] / 1048576, cover, c['fdatasync'], od,
                      c.get('check', '')))
        w()
        if not cfg.supported:
            return
        for row in b.counts:
            st, on = b.counts[row].get('stock'), b.counts[row].get('on')
            name = 'convert' if row == 'convert' else 'backup'
            g = '%s: target I/O ops with the cache on >= 4x fewer than stock' \
                % name
            if not st or not on:
                self.goals.append((g, 'no data', 'NOT MEASURED'))
                continue
            self.goals.append((
                g, 'stock %d, on %d: %.2fx fewer (without the %d/%d writes of '
                'data clusters stored uncompressed: stock %d, on %d: %.2fx '
                'fewer)' % (st['total'], on['total'],
                            st['total'] / on['total'],
                            st['writes_raw_data'], on['writes_raw_data'],
                            st['total_no_raw'], on['total_no_raw'],
                            st['total_no_raw'] / max(on['total_no_raw'], 1)),
                'met' if on['total'] * 4 <= st['total'] else 'MISSED'))
            self.goals.append((
                '%s: zero RMW reads with the cache on' % name,
                'RMW reads: stock %d, on %d' % (st['reads_rmw'],
                                                on['reads_rmw']),
                'met' if on['reads_rmw'] == 0 else 'MISSED'))

    def goals_section(self):
        b, w = self.b, self.w
        nok = sum(1 for x in b.ver if x[3] == 'ok')
        bad = [x for x in b.ver if x[3] != 'ok']
        self.goals.append((
            'every run: `qemu-img compare` source/target identical, `qemu-img '
            'check` of the target clean',
            '%d of %d runs verified clean (timed, warm-up and counting runs)'
            % (nok, len(b.ver)),
            'met' if b.ver and not bad else ('MISSED' if bad
                                             else 'NOT MEASURED')))
        w('## Goals')
        w()
        self.lines += md_table(['goal', 'measured', ''], [
            [g, m, v if v == 'met' else '**%s**' % v] for g, m, v in self.goals])
        w()
        if bad:
            w('Correctness failures:')
            w()
            for x in bad:
                w('- %s round %s, %s: %s' % (
                    x[0], x[1], VARIANTS[x[2]].label, x[4]))
            w()
        if b.notes:
            w('## Notes from the run')
            w()
            for n in b.notes:
                w('- ' + n)
            w()

    def commands(self):
        cfg, b, w = self.cfg, self.b, self.w
        w('## Commands')
        w()
        w('`SRC` is `%s/%s-<N>M-v1.qcow2` (`source_image` in '
          '`tools/qsbench/env.py`):' % (cfg.cache_dir, cfg.content))
        for line in SOURCE_TEXT[cfg.content]:
            w(line)
        w('Every cluster is allocated (`qemu-img convert -S 0 -f raw -O '
          'qcow2`).  `TGT`')
        w('is a new target on `%s` before every run: `qemu-img create -f qcow2'
          % cfg.tmpbase)
        w('-o compression_type=%s TGT <N>M` (stock qemu-img).'
          % cfg.compression)
        w('Each run is followed (untimed) by `qemu-img compare -f qcow2 -F '
          'qcow2 SRC TGT`')
        w('and `qemu-img check -f qcow2 TGT` (stock qemu-img).  Wall time is '
          'that of the')
        w('command alone (the target is closed, so flushed, when it returns).')
        w()
        rows = [m[0] for m in b.meta]
        for row, label, goal, cmd in b.meta:
            if row == 'backup-job':
                continue
            w('%s:' % label)
            w()
            w('```')
            for c in cmd:
                w(c)
            w('```')
            w()
        if 'throttle' in rows:
            w('The throttled row models a volume with %d-byte blocks whose '
              'every' % cfg.align)
            w('operation costs (network storage): the blkdebug node above the '
              'throttle node')
            w('has no rules, only `align=%d`, so the block layer pads '
              'unaligned writes there' % cfg.align)
            w('and their read-modify-write reads pass the throttle like the '
              'writes do.')
            w()
        if 'backup' in rows:
            extras = [cfg.vopts(v) for v in cfg.count_variants
                      if cfg.vopts(v)]
            if extras:
                w('Backup (`EXTRA` is empty for stock, `%s` for the' % (
                    ',compressed-write-cache=' + '|'.join(
                        x.split('=', 1)[1] for x in extras)))
                w('patched variants):')
            else:
                w('Backup (`EXTRA` is empty for every variant):')
            w()
            w('```')
            w('qemu-storage-daemon \\')
            for blockdev in QSD_BLOCKDEVS:
                w('  --blockdev %s \\' % blockdev.format(
                    src='SRC', tgt='TGT', extra='${EXTRA}'))
            w('  ' + ' '.join(QSD_MONITOR).format(sock='SOCK'))
            w('# QMP (python3, qemu.qmp.legacy from build/qemu/python); the '
              'clock starts here:')
            w('{"execute": "blockdev-backup", "arguments": {"job-id": "job0", '
              '"device": "src",')
            w('  "target": "tgt", "sync": "full", "compress": true}}')
            w('# ... wait for BLOCK_JOB_COMPLETED (row "start until '
              'BLOCK_JOB_COMPLETED";')
            w('# one with an error, or BLOCK_JOB_CANCELLED, fails the run)')
            w('{"execute": "blockdev-del", "arguments": {"node-name": "tgt"}}')
            w('{"execute": "blockdev-del", "arguments": {"node-name": '
              '"tgt-file"}}')
            w('# the clock stops here (main backup row); then quit')
            w('```')
            w()
        if b.counts:
            w('Counting runs: the same commands under')
            w('`%s -o LOG -e trace=%s`,' % (' '.join(STRACE), TRACE_SET))
            w('not timed.')
            w()


IO_COLUMNS = (
    'row', 'variant', 'I/O ops total', 'ratio to stock', 'writes',
    'of which full-cluster', 'other writes',
    'writes of uncompressed data clusters', 'I/O ops without those',
    'ratio to stock', 'RMW reads', 'reads at open', 'MiB written',
    'writes cover', 'fdatasync', 'target opened O_DIRECT',
    'target after the run (qemu-img check)')

IO_TEXT = (
    "the syscalls on the target file's fd are counted.  qemu-img convert "
    "and the",
    'storage daemon use aio=threads (the default), so every host I/O on the '
    'target',
    'is one pread64/pwrite64/preadv/pwritev syscall; the io_uring_enter calls '
    'that',
    "strace sees are those of the event loop's fd monitoring "
    "(util/fdmon-io_uring.c),",
    'not target I/O: the column "writes cover" is the part of the target file',
    '(its size after the run) that the counted write syscalls wrote (the '
    'rest:',
    'holes and the unused ends of host clusters that hold compressed '
    'clusters).',
    '"RMW reads" are the reads of the target after its first write: the '
    'target',
    'is new and its metadata is cached, so they are the read-modify-write '
    'reads',
    'of writes not aligned to the O_DIRECT block size.  "Reads at open" are '
    'the',
    'probes and metadata reads of opening the image (including failed '
    'alignment',
    'probes).  "Full-cluster writes" start and end on a 64 KiB boundary.',
    '"Writes of uncompressed data clusters" are the writes that fall inside a',
    'data cluster that the target stores uncompressed (`qemu-img map` of the',
    'target after the run): qcow2 writes a cluster that does not compress (in',
    'the mixed image, its random third) as a normal cluster, one aligned '
    'write,',
    'in every variant; the next column leaves them out.',
)

SOURCE_TEXT = {
    'mixed': (
        'N MiB of 1 MiB chunks cycling through seeded random data '
        '(incompressible),',
        'zeroes and repetitive text (compressible); the image of the hot rows '
        '(`tools/bench.py hot`) too.'),
    'compressible': (
        'N MiB of 64 KiB clusters, one in 12 zero, the others repetitive text '
        'in',
        'which 0, 2, 4 or 8 of the 16 4 KiB blocks are seeded random data, so '
        'that',
        'every non-zero cluster is stored compressed, in sizes from a few KiB '
        'to',
        'more than half a cluster.'),
}


def main(argv):
    if argv:
        print(__doc__.strip())
        return 0 if argv[0] in ('-h', '--help') else 2
    cfg = Config()
    env.need_builds(tools=('qemu-img', 'storage-daemon/qemu-storage-daemon'),
                    builds=(cfg.stock, cfg.patched))
    if cfg.count and not shutil.which('strace'):
        env.die('strace is missing (apt-get install strace; or '
                'BENCH_CC_COUNT=0)')
    if cfg.want('backup'):
        env.qemu_python()

    def terminate(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, terminate)
    try:
        return Bench(cfg).main()
    except KeyboardInterrupt:
        return 130


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
