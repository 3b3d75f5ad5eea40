"""
Instructions per operation against the queue depth: stock vs patched, with
callgrind, in the same run (issue 13).  Writes docs/benchmarks-qd.md and,
next to it, the plot docs/benchmarks-qd.svg (X.svg for a report X.md).

    tools/bench.py qd                    # full run, about 15-20 minutes
    BENCH_QD_QUICK=1 tools/bench.py qd   # smoke run, small counts

Rows (BENCH_QD_ROWS, a regex of: alloc, small, discard, mix; default all):
  alloc    64K allocating writes (qemu-img bench -w on an empty image) at
           QD 1, 32, 128, 512 (BENCH_QD_DEPTHS)
  small    4K scattered rewrite and read at QD1 and QD32 on a fully
           allocated image (the callgrind rows of tools/bench.py hot)
  discard  Ir per freed cluster of one large discard with N 4K rewrites
           held in flight by blkdebug, N in 0, 1, 32, 128, 512
           (BENCH_QD_DISCARD_N)
  mix      fio (nbd engine, 4K randwrite + 256K randtrim) against
           qemu-storage-daemon under callgrind, at QD 32 and 128
           (BENCH_QD_MIX_DEPTHS); its total is not deterministic (fio is
           another process), only its qcow2 part is

Every cost is marginal: (Ir of a run with N1 operations - Ir of a run with
N0) / (N1 - N0), so that start-up and exit cancel.  Every measurement is
repeated BENCH_QD_REPEAT times (default 2, 1 in quick mode), alternating
which build goes first; the report gives the mean and the spread.

Other environment: BENCH_PATCHED and BENCH_PATCHED_TREE (another
patched build directory and its source tree, e.g. the fix series without
the compressed write cache series), BENCH_QD_OUT (default docs/benchmarks-qd.md),
BENCH_QD_TMP (a tmpfs directory to work in, default /dev/shm),
BENCH_QD_KEEP (a directory to keep the raw results and the
callgrind_annotate outputs in), BENCH_QD_REPORT (such a directory: only
write the report again from it, without measuring; directories kept by
the old tools/bench-qd.sh work too).

docs/benchmarks-qd-discard.md is the discard row alone:
    BENCH_QD_ROWS=discard BENCH_QD_REPEAT=1 BENCH_QD_DISCARD_N='0 32 512' \\
        BENCH_QD_OUT=docs/benchmarks-qd-discard.md tools/bench.py qd
(its first line, an HTML comment saying when and on what it was taken, is
written by hand).

The binaries of build/stock and build/patched are copied once at the start
(after waiting until they have not changed for a while), so that a rebuild
by somebody else during the run cannot mix two builds into one table;
their SHA-256 is in the report.  Nothing under build/ is modified.
"""
import collections
import functools
import html
import json
import math
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

if __package__ in (None, ''):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from qsbench.env import (BUILD, DOCS, PATCHED, PATCHED_TREE, STOCK, cpu_model,  # noqa: E402
                         die, env_int, loadavg, log, mem_total_kib, need_builds,
                         need_fio_nbd,
                         run_timed, sha256, stop_process, tail_lines, utc_stamp)
from qsbench.report import (annotate_entries, callgrind_annotate, md_table,  # noqa: E402
                            read_env, svg_header, write_env, write_out)
from qsbench.stats import mean  # noqa: E402

STOCK_SRC = os.path.join(BUILD, 'stock-src')  # git worktree of TREE at "base"
TOOLS = ('qemu-img', 'qemu-io', 'storage-daemon/qemu-storage-daemon')
IMPLS = (('stock', STOCK), ('patched', PATCHED))
CL = 65536                    # cluster size (qemu-img create's default)
IMG_SIZE = '1G'               # the fully allocated image of the small rows
STRIDE = 4096 * 100003        # as tools/qsbench/hot.py: scattered 4K blocks
MIX_SIZE = '256M'             # the image of the fio mix
CG_TIMEOUT = 900              # per valgrind run; SIGKILL (see cg_run)
# What the report needs besides the raw results, kept in env.sh (the names
# and the format of tools/bench-qd.sh, so that its kept directories work)
REPORT_VARS = ('MODE', 'DATE_START', 'LOAD_START', 'LOAD_END', 'RUNTIME',
               'REPEAT', 'A_N0', 'A_N1', 'S_N0', 'S_N1', 'D_K0', 'D_K1',
               'MIX_N0', 'MIX_N1')
RAW_FILES = ('results.tsv', 'checks.tsv', 'notes.txt', 'commands.txt',
             'builds.txt', 'env.sh', 'discard-alloc.tsv', 'mix-ios.txt')


# --- the rows, as data --------------------------------------------------------
#
# A Group is what BENCH_QD_ROWS selects:
#   base      (size, pattern) of its image, made with the stock build (size
#             formatted with the settings): once, written all over with
#             pattern; or, for pattern None, empty for each run
#   log       what to say while making it (formatted with the settings)
#   commands  the lines of the report's "Commands" (formatted likewise)
#   measures  its Measures
#   after     (workload, depth): qemu-img check the base image once at the
#             end, under that key of checks.tsv
# A Measure is one workload at a list of depths: for every repetition,
# depth and build (alternating which goes first) it is run with N0 and N1
# operations and the marginal cost recorded in results.tsv under its name.
#   cg_name   the name of a run's callgrind_annotate output in cg/ (the
#             report's function breakdowns read them back by name)
#   depths    the name of a setting (a list) or a fixed tuple
#   counts    the names of the settings N0, N1
#   tool      the binary of the build that is measured
#   image     'empty' (a new empty image for each run), 'base' (the group's
#             base image itself), 'copy' (a copy of it for each run)
#   runner    'callgrind' (the tool under valgrind) or 'nbd' (the tool, a
#             daemon, under valgrind, fio against it: Bench.nbd_run)
#   argv      the tool's arguments, with {depth}, {n} and {img}; or
#             f(run, settings) -> them
#   checks    after each run, as workload = group name: 'image' (qemu-img
#             check clean), 'suspended' (blkdebug suspended and resumed the
#             N requests), 'data' (the discarded range reads as zeroes, the
#             rewrites landed), 'freed' (qemu-img check, and the allocated
#             clusters in discard-alloc.tsv)
Group = collections.namedtuple('Group', 'name base log commands measures after')
Measure = collections.namedtuple(
    'Measure', 'name cg_name depths counts tool image runner argv checks')
# One run of a Measure: n operations (clusters discarded for discard)
Run = collections.namedtuple('Run', 'measure depth impl n rep img')

# qemu-img bench with the cache and aio of every row (see Bench.cg_run)
BENCH = ['bench', '-q', '-f', 'qcow2', '-t', 'writeback', '-i', 'io_uring']


def _discard_argv(plain, r, s):
    """qemu-io: N (the depth) rewrites stopped at write_aio by blkdebug (in
    flight after qcow2 mapped them and dropped s->lock), the discard of K
    (r.n) clusters, the rewrites resumed, aio_flush, flush.  The cost of K0
    and K1 clusters gives the marginal cost per freed cluster, which
    includes whatever the patched build does for it later (the release of
    the retired clusters when the rewrites complete).  discard=ignore on
    the protocol nodes: qcow2 still frees the clusters and queues its host
    discards, only the final fallocate(PUNCH_HOLE) is skipped, which would
    go to the thread pool (see Bench.cg_run) and costs one system call per
    run of clusters anyway.  plain: the reference row, without blkdebug."""
    n = int(r.depth)
    args = []
    for i in range(1, n + 1):
        args += ['-c', 'break write_aio A%d' % i,
                 '-c', 'aio_write -q -P 2 %d 4K' % ((s['D_K1'] + i - 1) * CL),
                 '-c', 'wait_break A%d' % i]
    args += ['-c', 'discard -q 0 %d' % (r.n * CL)]
    for i in range(1, n + 1):
        args += ['-c', 'resume A%d' % i]
    args += ['-c', 'aio_flush', '-c', 'flush']
    if plain:
        opts = ('driver=qcow2,file.driver=file,file.filename=%s,'
                'file.aio=io_uring,file.discard=ignore' % r.img)
    else:
        opts = ('driver=qcow2,file.driver=blkdebug,file.discard=ignore,'
                'file.image.driver=file,file.image.filename=%s,'
                'file.image.aio=io_uring,file.image.discard=ignore' % r.img)
    return ['--image-opts'] + args + [opts]


DISCARD_CHECKS = ('suspended', 'data', 'freed')
GROUPS = [
    # a fresh empty image for each run, large enough that every write
    # allocates (qemu-img bench writes sequentially from 0 and would wrap
    # around)
    Group('alloc', ('%(A_IMG_SIZE)s', None), None, [
        'alloc: qemu-img create -f qcow2 IMG %(A_IMG_SIZE)s (fresh for each run)',
        'alloc: valgrind --tool=callgrind qemu-img bench -q -w -f qcow2 -t writeback '
        '-i io_uring -s 64K -d QD -c {%(A_N0)d,%(A_N1)d} IMG'], [
        Measure('alloc', 'alloc-qd{depth}-{impl}-{n}-{rep}', 'DEPTHS',
                ('A_N0', 'A_N1'), 'qemu-img', 'empty', 'callgrind',
                ['bench', '-q', '-w', '-f', 'qcow2', '-t', 'writeback', '-i', 'io_uring',
                 '-s', '64K', '-d', '{depth}', '-c', '{n}', '{img}'],
                ('image',))],
        None),
    Group('small', (IMG_SIZE, '0xa5'), 'creating a fully allocated %s qcow2 image' % IMG_SIZE, [
        "small: qemu-img create -f qcow2 IMG %(IMG_SIZE)s; qemu-io -f qcow2 "
        "-c 'write -P 0xa5 0 %(IMG_SIZE)s' IMG (stock build)",
        'small: valgrind --tool=callgrind qemu-img bench -q -f qcow2 -t writeback '
        '-i io_uring -d QD [-w] -s 4K -S %(STRIDE)d -c {%(S_N0)d,%(S_N1)d} IMG'], [
        Measure(row, row + '-qd{depth}-{impl}-{n}-{rep}', ('1', '32'),
                ('S_N0', 'S_N1'), 'qemu-img', 'base', 'callgrind',
                BENCH + ['-d', '{depth}'] + w + ['-s', '4K', '-S', str(STRIDE),
                                                 '-c', '{n}', '{img}'],
                ())
        for row, w in (('rewrite', ['-w']), ('read', []))],
        # checked once at the end, as workload "small", depth "all"
        ('small', 'all')),
    # D_K1 clusters that are discarded, then one cluster per request in
    # flight, all written once (with the stock build, before valgrind)
    Group('discard', ('%(D_SIZE)d', '1'),
          'creating the discard image (%(D_CLUSTERS)d clusters, all written)', [
        "discard: qemu-img create -f qcow2 IMG %(D_SIZE)d; qemu-io -f qcow2 "
        "-c 'write -P 1 0 %(D_SIZE)d' IMG (stock build; copied for each run)",
        "discard: valgrind --tool=callgrind qemu-io --image-opts [for i in 1..N: "
        "-c 'break write_aio Ai' -c 'aio_write -q -P 2 $(( (%(D_K1)d + i - 1) * 64K )) 4K' "
        "-c 'wait_break Ai'] -c 'discard -q 0 $((K * 64K))' [for i in 1..N: "
        "-c 'resume Ai'] -c aio_flush -c flush driver=qcow2,file.driver=blkdebug,"
        "file.discard=ignore,file.image.driver=file,file.image.filename=IMG,"
        "file.image.aio=io_uring,file.image.discard=ignore   (K in %(D_K0)d, %(D_K1)d)",
        'discard, reference row: the same with N=0 and driver=qcow2,file.driver=file,'
        'file.filename=IMG,file.aio=io_uring,file.discard=ignore (no blkdebug)',
        "discard: afterwards qemu-io -c 'read -P 0 0 K*64K' -c 'read -P 2 ...' "
        "(first and last rewrite) and qemu-img check --output=json IMG"], [
        Measure('discard-plain', 'discard-plain-n{depth}-{impl}-{n}-{rep}', ('0',),
                ('D_K0', 'D_K1'), 'qemu-io', 'copy', 'callgrind',
                functools.partial(_discard_argv, True), DISCARD_CHECKS),
        Measure('discard', 'discard-n{depth}-{impl}-{n}-{rep}', 'DISCARD_N',
                ('D_K0', 'D_K1'), 'qemu-io', 'copy', 'callgrind',
                functools.partial(_discard_argv, False), DISCARD_CHECKS)],
        None),
    Group('mix', (MIX_SIZE, '0xa5'), None, [
        'mix: valgrind --tool=callgrind qemu-storage-daemon --blockdev driver=file,'
        'node-name=file0,filename=IMG,aio=io_uring,discard=ignore --blockdev '
        'driver=qcow2,node-name=fmt0,file=file0,discard=unmap --nbd-server '
        'addr.type=unix,addr.path=SOCK --export type=nbd,id=exp0,node-name=fmt0,'
        'name=disk,writable=on',
        'mix: fio ioengine=nbd size=%(MIX_SIZE)s randrepeat=1 norandommap=1: job writes '
        'rw=randwrite bs=4k iodepth=QD number_ios={%(MIX_N0)d,%(MIX_N1)d}; job trims '
        'rw=randtrim bs=256k iodepth=4 number_ios=writes/64'], [
        Measure('mix', 'mix-qd{depth}-{impl}-{n}-{rep}', 'MIX_DEPTHS',
                ('MIX_N0', 'MIX_N1'), 'qemu-storage-daemon', 'copy', 'nbd',
                None, ('image',))],
        None),
]


def settings():
    """The settings of the run from the environment (quick or full mode)."""
    quick = os.environ.get('BENCH_QD_QUICK', '0') == '1'

    def depths(name, default):
        v = os.environ.get(name) or default
        if not all(d.isdigit() for d in v.split()) or not v.split():
            die('%s must be a list of integers' % name)
        return v.split()
    s = {'MODE': 'quick' if quick else 'full',
         'REPEAT': env_int('BENCH_QD_REPEAT', 1 if quick else 2)}
    if quick:
        s.update(DEPTHS=depths('BENCH_QD_DEPTHS', '1 32 512'),
                 DISCARD_N=depths('BENCH_QD_DISCARD_N', '0 1 32'),
                 MIX_DEPTHS=depths('BENCH_QD_MIX_DEPTHS', '32'),
                 A_N0=500, A_N1=2500,        # 64K allocating writes
                 S_N0=200, S_N1=2200,        # 4K rewrite/read
                 D_K0=512, D_K1=1024,        # clusters discarded
                 MIX_N0=2000, MIX_N1=6000)   # fio writes
    else:
        s.update(DEPTHS=depths('BENCH_QD_DEPTHS', '1 32 128 512'),
                 DISCARD_N=depths('BENCH_QD_DISCARD_N', '0 1 32 128 512'),
                 MIX_DEPTHS=depths('BENCH_QD_MIX_DEPTHS', '32 128'),
                 A_N0=2000, A_N1=10000,
                 S_N0=1000, S_N1=21000,
                 D_K0=4096, D_K1=8192,
                 MIX_N0=4000, MIX_N1=16000)
    s['A_IMG_SIZE'] = '%dG' % -(-s['A_N1'] * CL // (1 << 30))
    s['D_SIZE'] = (s['D_K1'] + max(max(int(n) for n in s['DISCARD_N']), 1)) * CL
    s['D_CLUSTERS'] = s['D_SIZE'] // CL
    s.update(IMG_SIZE=IMG_SIZE, STRIDE=STRIDE, MIX_SIZE=MIX_SIZE)
    return s


# --- measuring ----------------------------------------------------------------

def sums(directory, flat=False):
    """The SHA-256 of the TOOLS in a build directory (None for a missing
    file), to compare two sets of binaries; flat: in a copy, by their
    base names."""
    paths = [os.path.join(directory, os.path.basename(t) if flat else t) for t in TOOLS]
    return [sha256(p) if os.path.exists(p) else None for p in paths]


class Bench:
    """One measuring run in a work directory (a tmpfs): the snapshot of the
    builds, the runs, the raw result files the report is written from."""

    def __init__(self, s, work):
        self.s = s
        self.work = work
        self.cg = os.path.join(work, 'cg')
        self.daemons = []          # our own daemons, to end if we fail
        for d in ('cg', 'bin/stock', 'bin/patched'):
            os.makedirs(os.path.join(work, d))
        for f in ('results.tsv', 'checks.tsv', 'notes.txt', 'commands.txt',
                  'builds.txt'):
            open(self.path(f), 'w').close()

    def path(self, name):
        return os.path.join(self.work, name)

    def append(self, name, line):
        with open(self.path(name), 'a') as f:
            f.write(line + '\n')

    def bin(self, impl, tool):
        return os.path.join(self.work, 'bin', impl, os.path.basename(tool))

    def note(self, msg):
        log(msg)
        self.append('notes.txt', msg)

    # --- snapshot of the two builds
    def snapshot(self, impl, directory):
        """Copy the binaries of a build once it has not changed for 30 s
        (waiting at most 10 minutes), and note their SHA-256."""
        need_builds(TOOLS, (directory,))
        paths = [os.path.join(directory, t) for t in TOOLS]
        for i in range(1, 121):
            age = time.time() - max(os.stat(p).st_mtime for p in paths)
            s1 = sums(directory)
            time.sleep(1)
            s2 = sums(directory)
            if age >= 30 and s1 == s2:
                break
            if i == 1:
                log('%s is being rebuilt, waiting' % directory)
            time.sleep(4)
        for t in TOOLS:
            shutil.copy(os.path.join(directory, t), self.bin(impl, t))
        if sums(os.path.join(self.work, 'bin', impl), True) != sums(directory):
            die('%s changed while it was copied; run again' % directory)
        stamp = time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime(
            os.stat(os.path.join(directory, 'qemu-img')).st_mtime))
        self.append('builds.txt', '%s: %s (binaries of %s)' % (impl, directory, stamp))
        for t in TOOLS:
            self.append('builds.txt', '    %s  %s' % (sha256(os.path.join(directory, t)), t))

    def tree_state(self, label, d):
        """The git state of a source tree, for the report."""
        self.append('builds.txt', 'source of %s: %s' % (label, d))

        def git(*args):
            return subprocess.run(['git', '-C', d] + list(args), capture_output=True,
                                  text=True)
        if git('rev-parse', 'HEAD').returncode != 0:
            return
        self.append('builds.txt', '    ' + git('log', '-1', '--format=%h %s').stdout.rstrip('\n'))
        st = git('status', '--short', '--untracked-files=no').stdout.splitlines()
        if st:
            self.append('builds.txt', '    uncommitted changes in %d files when the binaries '
                        'were copied (the build may or may not contain them):' % len(st))
            for line in st:
                self.append('builds.txt', '      ' + line)

    def rebuilt_notes(self):
        for impl, directory in IMPLS:
            if sums(directory) != sums(os.path.join(self.work, 'bin', impl), True):
                self.note('build/%s was rebuilt during the run (the run used the copy '
                          'taken at its start)' % impl)

    # --- callgrind
    def annotate(self, name):
        """callgrind_annotate of cg/name.out into cg/name.txt (kept, the
        report's function breakdowns read it) -> (total, qcow2) Ir."""
        f = os.path.join(self.cg, name)
        ir = callgrind_annotate(f + '.out', f + '.txt')
        os.unlink(f + '.out')
        return ir

    def cg_run(self, name, argv):
        """argv under callgrind -> (total, qcow2) Ir; its output in
        cg/name.log.  aio=io_uring with cache=writeback, as tools/qsbench/hot.py:
        under valgrind 3.19, QEMU hangs as soon as a request goes to the
        thread pool (the main loop waits in io_uring_enter() and valgrind
        does not let the worker thread run meanwhile).  aio=threads does
        that for every request, and so does -t none (O_DIRECT) with
        io_uring: the unaligned reads of the image header at open go to the
        thread pool.  The runs are killed with SIGKILL (run_timed without
        grace), which is the only signal a valgrind stuck that way
        obeys."""
        f = os.path.join(self.cg, name)
        rc = run_timed(['valgrind', '--tool=callgrind', '--callgrind-out-file=' + f + '.out']
                       + argv, f + '.log', CG_TIMEOUT, grace=0)[0]
        if rc != 0:
            log('callgrind run %s failed (%s):' % (f, rc))
            sys.stderr.write(tail_lines(f + '.log', 5))
            die('%s run failed' % name)
        return self.annotate(name)

    def nbd_run(self, r, name):
        """qemu-storage-daemon under callgrind exports a copy of the base
        image on a unix socket; fio (ioengine=nbd) runs a fixed number of
        4K random writes at depth QD, and a second job 256K random trims
        at depth 4 over the same range (time-limited by the writes: it
        stops when they stop).  The trims scale with the writes only
        roughly (they race), so this row is an indication, not a
        deterministic count."""
        d = os.path.dirname(r.img)
        sock = os.path.join(d, 'nbd.sock')
        f = os.path.join(self.cg, name)
        with open(f + '.log', 'w') as lf:
            qsd = subprocess.Popen(
                ['valgrind', '--tool=callgrind', '--callgrind-out-file=' + f + '.out',
                 self.bin(r.impl, 'qemu-storage-daemon'),
                 '--blockdev', 'driver=file,node-name=file0,filename=%s,aio=io_uring,'
                 'discard=ignore' % r.img,
                 '--blockdev', 'driver=qcow2,node-name=fmt0,file=file0,discard=unmap',
                 '--nbd-server', 'addr.type=unix,addr.path=' + sock,
                 '--export', 'type=nbd,id=exp0,node-name=fmt0,name=disk,writable=on'],
                stdout=lf, stderr=subprocess.STDOUT)
        self.daemons.append(qsd)
        for _ in range(600):
            if os.path.exists(sock) or qsd.poll() is not None:
                break
            time.sleep(0.1)
        if not os.path.exists(sock):
            self.stop(qsd)
            sys.stderr.write(tail_lines(f + '.log', 10))
            die('mix run failed: the daemon did not start')
        job = os.path.join(d, 'mix.fio')
        with open(job, 'w') as jf:
            jf.write('[global]\nioengine=nbd\nuri=nbd+unix:///disk?socket=%s\n'
                     'randrepeat=1\nnorandommap=1\nsize=%s\n\n'
                     '[writes]\nrw=randwrite\nbs=4k\niodepth=%s\nnumber_ios=%d\n\n'
                     '[trims]\nrw=randtrim\nbs=256k\niodepth=4\nnumber_ios=%d\n'
                     % (sock, MIX_SIZE, r.depth, r.n, r.n // 64))
        fio_json = os.path.join(d, 'fio.json')
        rc = run_timed(['fio', '--output-format=json', '--output=' + fio_json, job],
                       os.path.join(d, 'fio.log'), CG_TIMEOUT, grace=0)[0]
        self.stop(qsd)
        if rc != 0:
            sys.stderr.write(tail_lines(os.path.join(d, 'fio.log'), 10))
            die('mix run failed: fio failed (%s)' % rc)
        if not os.path.exists(f + '.out') or not os.path.getsize(f + '.out'):
            die('mix run failed: no callgrind output')
        with open(fio_json) as jf:
            jobs = json.load(jf)['jobs']
        self.append('mix-ios.txt', ' '.join(
            '%s=%d' % (j['jobname'], j['write']['total_ios'] + j['trim']['total_ios'])
            for j in jobs))
        return self.annotate(name)

    def stop(self, p):
        """End one of our daemons: SIGTERM, SIGKILL after 60 s."""
        stop_process(p, 60)
        if p in self.daemons:
            self.daemons.remove(p)

    # --- checks
    def check(self, w, d, impl, rep, what, ok, detail=''):
        self.append('checks.tsv', '\t'.join((w, str(d), impl, str(rep), what,
                                             'ok' if ok else 'FAIL', '' if ok else detail)))
        if not ok:
            self.note('%s %s %s #%s: %s FAILED: %s' % (w, d, impl, rep, what, detail))

    def img_check(self, w, d, impl, rep, img):
        """qemu-img check of an image: clean (no corruption, no leak)?
        -> its allocated clusters ('' if unknown)."""
        p = subprocess.run([self.bin(impl, 'qemu-img'), 'check', '--output=json', img],
                           capture_output=True, text=True)
        if p.returncode == 0:
            self.check(w, d, impl, rep, 'qemu-img check', True)
        else:
            self.check(w, d, impl, rep, 'qemu-img check', False, 'exit %d: %s' % (
                p.returncode, (p.stdout + p.stderr).replace('\n', '')[:300]))
        try:
            return str(json.loads(p.stdout).get('allocated-clusters', ''))
        except ValueError:
            return ''

    def run_checks(self, group, r, name):
        m, k = r.measure, r.n
        n = int(r.depth)
        for c in m.checks:
            if c == 'image':
                self.img_check(group, r.depth, r.impl, r.rep, r.img)
            elif c == 'suspended':
                with open(os.path.join(self.cg, name + '.log'), errors='replace') as lf:
                    lines = lf.read().splitlines()
                susp = sum(1 for x in lines if x.startswith('blkdebug: Suspended request'))
                res = sum(1 for x in lines if x.startswith('blkdebug: Resuming request'))
                self.check(group, r.depth, r.impl, r.rep,
                           'K=%d: %d requests suspended and resumed' % (k, n),
                           susp == n and res == n, '%d suspended, %d resumed' % (susp, res))
            elif c == 'data':
                d_k1 = self.s['D_K1']
                vargs = ['-c', 'read -q -P 0 0 %d' % (k * CL)]
                if n >= 1:
                    vargs += ['-c', 'read -q -P 2 %d 4K' % (d_k1 * CL),
                              '-c', 'read -q -P 2 %d 4K' % ((d_k1 + n - 1) * CL)]
                p = subprocess.run([self.bin(r.impl, 'qemu-io'), '-f', 'qcow2'] + vargs
                                   + [r.img], capture_output=True, text=True)
                out = p.stdout + p.stderr
                ok = p.returncode == 0 and not re.search('fail|error', out, re.I)
                self.check(group, r.depth, r.impl, r.rep, 'K=%d: data after the run' % k,
                           ok, out[:300])
            elif c == 'freed':
                a = self.img_check(group, r.depth, r.impl, r.rep, r.img)
                self.append('discard-alloc.tsv', '\t'.join((
                    'plain' if m.name == 'discard-plain' else '', r.depth, r.impl,
                    str(r.rep), str(k), a)))

    # --- the rows
    def make_image(self, path, size, pattern=None):
        """A qcow2 image with the stock build, written all over with
        pattern (None: left empty)."""
        subprocess.run([self.bin('stock', 'qemu-img'), 'create', '-q', '-f', 'qcow2',
                        path, size], check=True)
        if pattern is not None:
            subprocess.run([self.bin('stock', 'qemu-io'), '-f', 'qcow2', '-c',
                            'write -P %s 0 %s' % (pattern, size), path],
                           stdout=subprocess.DEVNULL, check=True)

    def one_run(self, g, base, r):
        """One run of a measure of group g -> (total, qcow2) Ir, checks
        done, its image removed (unless it is the base image)."""
        m = r.measure
        name = m.cg_name.format(depth=r.depth, impl=r.impl, n=r.n, rep=r.rep)
        scratch = None
        if m.runner == 'nbd':
            # the image, the daemon's socket and fio's files
            scratch = tempfile.mkdtemp(prefix='mix.', dir=self.work)
            r = r._replace(img=os.path.join(scratch, 'img.qcow2'))
        if m.image == 'empty':
            self.make_image(r.img, g.base[0] % self.s)
        elif m.image == 'copy':
            shutil.copy(base, r.img)
        if m.runner == 'callgrind':
            if callable(m.argv):
                argv = m.argv(r, self.s)
            else:
                argv = [a.format(depth=r.depth, n=r.n, img=r.img) for a in m.argv]
            ir = self.cg_run(name, [self.bin(r.impl, m.tool)] + argv)
        else:
            ir = self.nbd_run(r, name)
        self.run_checks(g.name, r, name)
        if scratch:
            shutil.rmtree(scratch)
        elif m.image != 'base':
            os.unlink(r.img)
        return ir

    def record(self, w, d, impl, rep, n0, n1, r0, r1):
        a0, q0 = r0
        a1, q1 = r1
        row = (w, d, impl, str(rep), '%.1f' % ((a1 - a0) / (n1 - n0)),
               '%.1f' % ((q1 - q0) / (n1 - n0)))
        self.append('results.tsv', '\t'.join(row))
        log('%s %s %s #%s: %s Ir/op (%s in block/qcow2*.c)' % row)

    def run_group(self, g):
        s = self.s
        base = None
        if g.base[1] is not None:
            base = self.path(g.name + '-base.qcow2')
            if g.log:
                log(g.log % s)
            self.make_image(base, g.base[0] % s, g.base[1])
        for c in g.commands:
            self.append('commands.txt', c % s)
        for rep in range(1, s['REPEAT'] + 1):
            impls = ('stock', 'patched') if rep % 2 else ('patched', 'stock')
            for m in g.measures:
                n0, n1 = (s[c] for c in m.counts)
                depths = s[m.depths] if isinstance(m.depths, str) else m.depths
                img = base if m.image == 'base' else self.path(g.name + '.qcow2')
                for d in depths:
                    for impl in impls:
                        r0, r1 = (self.one_run(g, base, Run(m, d, impl, n, rep, img))
                                  for n in (n0, n1))
                        self.record(m.name, d, impl, rep, n0, n1, r0, r1)
        if g.after:
            self.img_check(g.after[0], g.after[1], 'stock', 1, base)
        if base:
            os.unlink(base)


# --- the report ---------------------------------------------------------------
#
# The tables of Ir per operation against the depth, one per workload of
# results.tsv; their goal rows go to the goals table and to the plot.
#   label     the row of the goals table and the line of the plot
#   basis     'total': the goal is on the delta of the total; 'qcow2': on
#             the delta of the qcow2 part, as a share of stock's total
#   flat_skip depths left out of the "flat across the depths" sentence
#   colour    of its line in the plot
DepthTable = collections.namedtuple(
    'DepthTable', 'workload label unit dcol target goal basis flat_skip colour')
DEPTH_TABLES = {
    'alloc': DepthTable('alloc', '64K allocating writes', 'Ir/op', 'QD', 1.0,
                        'total <= +1%', 'total', (), '#2471a3'),
    'discard': DepthTable('discard', 'discard, per freed cluster', 'Ir/cluster',
                          'N in flight', 10.0, 'total <= +10%', 'total', ('0',), '#c0392b'),
    'mix': DepthTable('mix', 'fio mix, qcow2 part', 'Ir/write', 'QD', 1.0,
                      'qcow2 delta <= +1% of stock total', 'qcow2', (), '#27ae60'),
}
# The 4K rows: workload and the goal of its QD1 total, in %; QD32 is
# checked on the qcow2 part (flat within FLAT_IR of QD1's)
SMALL_ROWS = (('rewrite', 0.5), ('read', 0.8))
FLAT_IR = 10


def cell(vals):
    """The mean of the repetitions, and their range when they differ."""
    m = mean(vals)
    if len(vals) > 1 and max(vals) - min(vals) >= 0.05:
        return '%.1f (%.1f-%.1f)' % (m, min(vals), max(vals))
    return '%.1f' % m


def status(ok):
    return 'met' if ok else '**missed**'


def load_fn(path):
    """Self Ir per file:function of a callgrind_annotate output (None if
    there is none), clones (name'2) merged."""
    if not os.path.exists(path):
        return None
    d = collections.Counter()
    with open(path) as f:
        for ir, src, fn in annotate_entries(f):
            d[src.split('/')[-1] + ':' + re.sub(r"'\d+$", '', fn)] += ir
    return d


def machine():
    """CPU model and memory of this machine, as the report words them."""
    mem = mem_total_kib()
    return cpu_model(''), '' if mem is None else '%d GiB RAM' % (mem // (1 << 20))


def read_lines(path):
    with open(path) as f:
        return [line.rstrip('\n') for line in f if line.strip()]


class Report:
    """docs/benchmarks-qd.md (and its plot) from the raw results in a work
    directory or a kept copy of one; E: the values of REPORT_VARS."""

    def __init__(self, work, E):
        self.work, self.E = work, E
        # (workload, depth) -> impl -> [(total, qcow2)], in the order run
        self.res = collections.defaultdict(lambda: collections.defaultdict(list))
        self.order = []
        for line in read_lines(os.path.join(work, 'results.tsv')):
            w, d, impl, _, tot, q = line.split('\t')
            if (w, d) not in self.order:
                self.order.append((w, d))
            self.res[(w, d)][impl].append((float(tot), float(q)))
        self.checks = collections.defaultdict(lambda: [0, 0])
        for line in read_lines(os.path.join(work, 'checks.tsv')):
            w, d, _, _, _, ok, _ = line.split('\t')
            self.checks[(w, d)][0 if ok == 'ok' else 1] += 1
        self.goal_results = []   # (label, depth, value, target, ok)
        self.plot = []           # (DepthTable, [(depth, goal value in %)])
        self.L = []

    def keys(self, w):
        return [k for k in self.order if k[0] == w]

    def row_numbers(self, key):
        s, p = self.res[key]['stock'], self.res[key]['patched']
        return (s, p, mean([x[0] for x in s]), mean([x[0] for x in p]),
                mean([x[1] for x in s]), mean([x[1] for x in p]))

    def para(self, *lines):
        self.L.extend(lines)
        self.L.append('')

    def cg_file(self, name):
        return os.path.join(self.work, 'cg', name + '.txt')

    def table_depth(self, t):
        keys = self.keys(t.workload)
        if not keys:
            return
        dq = []
        points = []
        rows = []
        for key in keys:
            s, p, st, pt, sq, pq = self.row_numbers(key)
            pct = 100 * (pt - st) / st
            gpct = pct if t.basis == 'total' else 100 * (pq - sq) / st
            c = self.checks.get(key, [0, 0])
            ck = ('%d ok' % c[0]) if not c[1] else ('**%d failed**, %d ok' % (c[1], c[0]))
            ok = gpct <= t.target
            g = status(ok) if t.basis == 'total' else '%+.2f%%: %s' % (gpct, status(ok))
            self.goal_results.append((t.label, key[1], gpct, t.target, ok))
            points.append((int(key[1]), gpct))
            rows.append([key[1], cell([x[0] for x in s]), cell([x[0] for x in p]),
                         '%+.1f' % (pt - st), '%+.2f%%' % pct, cell([x[1] for x in s]),
                         cell([x[1] for x in p]), '%+.1f' % (pq - sq), ck, g])
            if key[1] not in t.flat_skip:
                dq.append((key[1], pq - sq))
        self.para(*md_table([t.dcol, 'stock ' + t.unit, 'patched ' + t.unit, 'delta',
                             'delta %', 'stock qcow2', 'patched qcow2', 'qcow2 delta',
                             'checks', 'goal: ' + t.goal], rows))
        self.plot.append((t, points))
        if len(dq) > 1:
            v = [x[1] for x in dq]
            self.para('Across %s %s to %s, patched - stock in the qcow2 part is %+.1f to %+.1f '
                      'Ir (a spread of %.1f Ir%s).'
                      % (t.dcol, dq[0][0], dq[-1][0], min(v), max(v), max(v) - min(v),
                         ': flat' if max(v) - min(v) <= FLAT_IR else ''))

    def breakdown(self, title, base0, base1, n):
        """Marginal self cost per function, patched - stock, of the runs
        base0 and base1 (with %s for the build)."""
        f = {}
        for impl in ('stock', 'patched'):
            a = load_fn(self.cg_file(base0 % impl))
            b = load_fn(self.cg_file(base1 % impl))
            if a is None or b is None:
                return
            f[impl] = {k: (b[k] - a[k]) / n for k in set(a) | set(b)}
        rows = []
        for k in set(f['stock']) | set(f['patched']):
            s, p = f['stock'].get(k, 0.0), f['patched'].get(k, 0.0)
            if abs(p - s) >= 0.5:
                rows.append((p - s, s, p, k))
        rows.sort(key=lambda r: (-abs(r[0]), r[3]))
        self.para(title + '  A function that the series renamed or split shows up as a '
                  'pair of rows, one with 0 in stock and one with 0 in patched.')
        ss, sp = sum(f['stock'].values()), sum(f['patched'].values())
        self.para(*md_table(
            ['function (file:function, self cost)', 'stock', 'patched', 'delta'],
            [['`%s`' % k, '%.1f' % s, '%.1f' % p, '%+.1f' % dlt] for dlt, s, p, k in rows[:12]]
            + [['sum of all functions', '%.1f' % ss, '%.1f' % sp, '%+.1f' % (sp - ss)]]))

    # --- the sections
    def alloc(self):
        E = self.E
        self.para('## 64K allocating writes (Ir per write)')
        self.para('`qemu-img bench -w -s 64K -d QD` on an empty image: every write allocates '
                  'a cluster (sequential, no COW).  N0=%s, N1=%s writes.' % (E['A_N0'], E['A_N1']))
        self.table_depth(DEPTH_TABLES['alloc'])
        ds = [k[1] for k in self.keys('alloc')]
        lo, hi = ds[0], ds[-1]
        s_lo, s_hi = self.row_numbers(('alloc', lo)), self.row_numbers(('alloc', hi))
        self.para('Stock itself: %.0f Ir per write at QD%s, %.0f at QD%s (qcow2 part %.0f -> '
                  '%.0f).' % (s_lo[2], lo, s_hi[2], hi, s_lo[4], s_hi[4]))
        # where stock's own cost grows (QD lo vs QD hi, stock only)
        a0, a1, b0, b1 = (load_fn(self.cg_file('alloc-qd%s-stock-%s-1' % (d, E[n])))
                          for d, n in ((lo, 'A_N0'), (lo, 'A_N1'), (hi, 'A_N0'), (hi, 'A_N1')))
        n = int(E['A_N1']) - int(E['A_N0'])
        if all(x is not None for x in (a0, a1, b0, b1)) and lo != hi:
            g = []
            for k in set(a0) | set(a1) | set(b0) | set(b1):
                x, y = (a1[k] - a0[k]) / n, (b1[k] - b0[k]) / n
                if abs(y - x) >= 1:
                    g.append((y - x, x, y, k))
            g.sort(key=lambda r: (-abs(r[0]), r[3]))
            self.para('Where stock\'s own cost per write grows with the depth (stock, Ir per '
                      'write, self cost):')
            self.para(*md_table(['function', 'QD' + lo, 'QD' + hi, 'growth'],
                                [['`%s`' % k, '%.1f' % x, '%.1f' % y, '%+.1f' % dlt]
                                 for dlt, x, y, k in g[:6]]))
        self.breakdown('Where the patched delta goes at QD%s (Ir per write, self cost, first '
                       'repetition):' % hi, 'alloc-qd%s-%%s-%s-1' % (hi, E['A_N0']),
                       'alloc-qd%s-%%s-%s-1' % (hi, E['A_N1']), n)

    def small(self):
        E = self.E
        self.para('## 4K rewrite and read on a fully allocated image (Ir per request)')
        self.para('`qemu-img bench [-w] -s 4K -S %d -d QD` on a 1 GiB image whose every '
                  'cluster is allocated (the callgrind rows of `tools/qsbench/hot.py`).  N0=%s, '
                  'N1=%s requests.' % (STRIDE, E['S_N0'], E['S_N1']))
        rows = []
        qd1 = {}
        for row, tgt in SMALL_ROWS:
            for qd in ('1', '32'):
                key = (row, qd)
                if key not in self.res:
                    continue
                s, p, st, pt, sq, pq = self.row_numbers(key)
                pct = 100 * (pt - st) / st
                if qd == '1':
                    ok = pct <= tgt
                    qd1[row] = pq - sq
                    g = 'total <= +%.1f%%: %s' % (tgt, status(ok))
                    self.goal_results.append(('4K %s' % row, qd, pct, tgt, ok))
                elif row not in qd1:
                    g = '-'
                else:
                    ok = (pq - sq) - qd1[row] <= FLAT_IR
                    g = 'qcow2 delta within %d Ir of QD1\'s (%+.1f): %s' % (
                        FLAT_IR, qd1[row], status(ok))
                    self.goal_results.append(('4K %s, qcow2 part flat in QD' % row, qd,
                                              (pq - sq) - qd1[row], FLAT_IR, ok))
                rows.append(['4K scattered %s, QD%s' % (row, qd), cell([x[0] for x in s]),
                             cell([x[0] for x in p]), '%+.1f' % (pt - st), '%+.2f%%' % pct,
                             cell([x[1] for x in s]), cell([x[1] for x in p]),
                             '%+.1f' % (pq - sq), g])
        self.para(*md_table(['row', 'stock Ir/op', 'patched Ir/op', 'delta', 'delta %',
                             'stock qcow2', 'patched qcow2', 'qcow2 delta', 'goal'], rows))
        self.para('At QD32 the main loop\'s share of a request depends on how many io_uring '
                  'completions one iteration collects, which varies from run to run even '
                  'under valgrind (see `docs/benchmarks.md`); the QD32 rows are therefore '
                  'checked on the qcow2 part: its delta must not grow with the depth.')

    def discard(self):
        E = self.E
        k0, k1 = int(E['D_K0']), int(E['D_K1'])
        self.para('## One large discard with N 4K rewrites in flight (Ir per freed cluster)')
        self.para('qemu-io through blkdebug: N rewrites of allocated clusters (above the '
                  'discarded range) stopped at `write_aio`, i.e. in flight after qcow2 mapped '
                  'them and dropped `s->lock`; then one `discard` of K clusters; then the N '
                  'rewrites resumed and `aio_flush`, `flush`.  Marginal cost per freed cluster '
                  'between K0=%s and K1=%s clusters; it includes what the patched build does '
                  'later for the same clusters (releasing the retired runs when the rewrites '
                  'complete).  Checks per run: the N requests were suspended and resumed, the '
                  'discarded range reads back as zeroes and the first and last rewrite as '
                  'their pattern, `qemu-img check` clean.' % (E['D_K0'], E['D_K1']))
        self.table_depth(DEPTH_TABLES['discard'])
        if ('discard-plain', '0') in self.res:
            s, p, st, pt, sq, pq = self.row_numbers(('discard-plain', '0'))
            self.para('Reference, N=0 without blkdebug (`file.driver=file`): stock %s, patched '
                      '%s Ir per freed cluster (%+.2f%%); qcow2 part %s -> %s.  blkdebug\'s own '
                      'event handling is part of the totals above (the same in both builds), '
                      'so relative to the cost of a free without it, the delta at N >= 1 is '
                      'larger: see the last column below.'
                      % (cell([x[0] for x in s]), cell([x[0] for x in p]),
                         100 * (pt - st) / st, cell([x[1] for x in s]), cell([x[1] for x in p])))
            rows = []
            for key in self.keys('discard'):
                _, _, st2, pt2, _, _ = self.row_numbers(key)
                rows.append([key[1], '%+.1f' % (pt2 - st2), '%+.1f%%' % (100 * (pt2 - st2) / st2),
                             '%+.1f%%' % (100 * (pt2 - st2) / st)])
            self.para(*md_table(['N in flight', 'patched - stock, Ir per freed cluster',
                                 'relative to stock with blkdebug',
                                 'relative to stock\'s free without blkdebug (%.0f Ir)' % st],
                                rows))
        by = collections.defaultdict(dict)
        for line in read_lines(os.path.join(self.work, 'discard-alloc.tsv')):
            plain, n, impl, rep, k, a = line.split('\t')
            by[(plain, n, impl, rep)][k] = a
        diffs = set()
        for v in by.values():
            try:
                diffs.add(int(v[E['D_K0']]) - int(v[E['D_K1']]))
            except (KeyError, ValueError):
                diffs.add('?')
        self.para('Allocated clusters after the K0 run minus after the K1 run (`qemu-img '
                  'check`), over all runs: %s (expected %d: every discarded cluster is free '
                  'again once the rewrites have completed).'
                  % (', '.join(str(x) for x in sorted(diffs, key=str)), k1 - k0))
        self.breakdown('Where the patched delta goes with nothing in flight (N=0, no blkdebug; '
                       'Ir per freed cluster, self cost, first repetition):',
                       'discard-plain-n0-%%s-%s-1' % k0, 'discard-plain-n0-%%s-%s-1' % k1,
                       k1 - k0)
        ns = [k[1] for k in self.keys('discard')]
        nb = '128' if '128' in ns else ns[-1]
        self.breakdown('Where the patched delta goes at N=%s (Ir per freed cluster, self cost, '
                       'first repetition):' % nb, 'discard-n%s-%%s-%s-1' % (nb, k0),
                       'discard-n%s-%%s-%s-1' % (nb, k1), k1 - k0)

    def mix(self):
        E = self.E
        self.para('## fio over NBD: 4K randwrite + 256K randtrim (Ir of the daemon per write)')
        self.para('qemu-storage-daemon under callgrind, fio (ioengine=nbd) against it: 4K '
                  'random writes at depth QD and 256K random trims (1 per 64 writes, depth 4) '
                  'over the same fully allocated 256 MiB image, so that trims free clusters and '
                  'writes allocate them again.  Ir of the daemon per write, marginal between %s '
                  'and %s writes.  The daemon\'s total is not deterministic: how many event loop '
                  'iterations and wake-ups a request takes depends on the timing of fio, a '
                  'separate process (the totals of identical runs differ by tens of percent); '
                  'the qcow2 part is stable to about 1%%.  The goal is therefore checked on the '
                  'qcow2 part\'s delta, as a share of stock\'s total (as `tools/qsbench/hot.py` does '
                  'at QD32).' % (E['MIX_N0'], E['MIX_N1']))
        self.table_depth(DEPTH_TABLES['mix'])

    # the sections of the report, each written if results.tsv has one of
    # the workloads
    SECTIONS = ((('alloc',), alloc), (('rewrite', 'read'), small),
                (('discard',), discard), (('mix',), mix))

    def write(self, out_f, svg_f):
        E, L = self.E, self.L
        runtime = int(E['RUNTIME'])
        self.para('# Instructions per operation against the queue depth: stock vs patched')
        self.para('Generated by `tools/bench.py qd` (issue 13); do not edit by hand.  Taken %s '
                  '(%s mode), %d repetition(s) of every measurement; the script ran %d min '
                  '%02d s.' % (E['DATE_START'], E['MODE'], int(E['REPEAT']), runtime // 60,
                               runtime % 60))
        self.para('Every number is a **marginal** cost counted by callgrind: (Ir of a run with '
                  'N1 operations - Ir of a run with N0) / (N1 - N0), start-up and exit cancel '
                  'out.  Instruction counts do not depend on the load of the machine (this one '
                  'is shared).  "qcow2" columns: the self cost of the functions in '
                  '`block/qcow2*.c` (as `tools/qsbench/hot.py`), the rest is the block layer, the '
                  'event loop, blkdebug, libc.  Delta % is of the stock total.  A cell "m (a-b)" '
                  'is the mean of the repetitions and their range, when they differ.')
        for workloads, section in self.SECTIONS:
            if any(k[0] in workloads for k in self.order):
                section(self)

        self.para('## Goals (issue 13)')
        self.para(*md_table(['row', 'depth', 'delta', 'target', ''], [
            [label, 'QD' + d, '%+.1f Ir vs QD1' % v, '<= +%d Ir' % t, status(ok)]
            if 'flat' in label else
            [label, d, '%+.2f%%' % v, '<= +%.1f%%' % t, status(ok)]
            for label, d, v, t, ok in self.goal_results]))
        if self.plot:
            self.para('The goal rows are plotted against the depth in [%s](%s).'
                      % ((os.path.basename(svg_f),) * 2))

        cpu, mem = machine()
        valgrind = subprocess.run(['valgrind', '--version'], capture_output=True,
                                  text=True).stdout.strip()
        self.para('## How it was measured')
        L.append('- Machine: %s, %d CPUs, %s, kernel %s; load average at the start %s, at the '
                 'end %s (shared machine; irrelevant to instruction counts).'
                 % (cpu, os.cpu_count(), mem, platform.release(), E['LOAD_START'],
                    E['LOAD_END']))
        L.append('- %s; images on tmpfs.' % valgrind)
        L.append('- aio=io_uring with cache=writeback (`-t writeback -i io_uring`), as '
                 '`tools/qsbench/hot.py`: under valgrind 3.19 QEMU hangs as soon as a request goes to '
                 'the thread pool (the main loop waits in `io_uring_enter()` and valgrind does '
                 'not let the worker thread run).  `-t none` (O_DIRECT) hangs that way with '
                 'io_uring too (the unaligned header reads at open go to the thread pool), and '
                 '`-i threads` does for every request.  So `-t none` of the brief could not be '
                 'used; the qcow2 code paths are the same with either cache mode.')
        self.para('- Builds (copied at the start of the run and run from the copy; the builds '
                  'are identified by the SHA-256 of their binaries: the commit shown is the HEAD '
                  'of the source tree when they were copied, which a binary built earlier need '
                  'not match):')
        with open(os.path.join(self.work, 'builds.txt')) as f:
            self.para('```', f.read().rstrip('\n'), '```')
        self.para('- Commands:')
        self.para('```', *read_lines(os.path.join(self.work, 'commands.txt')), '```')
        notes = read_lines(os.path.join(self.work, 'notes.txt'))
        if notes:
            self.para('## Notes of the run')
            self.para(*('- ' + n for n in notes))
        write_out(out_f, '\n'.join(L).rstrip('\n') + '\n')
        if self.plot:
            write_out(svg_f, self.svg())

    def svg(self):
        """The goal rows' overhead (%) against the depth, one line per row,
        with the goal lines; x on a log scale (of 1 + depth, for N=0)."""
        W, H, left, right, top, bottom = 900, 460, 70, 300, 64, 60
        depths = sorted({d for _, pts in self.plot for d, _ in pts})
        targets = sorted({t.target for t, _ in self.plot})
        vals = [v for _, pts in self.plot for _, v in pts] + targets + [0]
        step = next(s for s in (0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100)
                    if (max(vals) - min(vals)) / s <= 8)
        lo = math.floor((min(vals) - step / 4) / step) * step
        hi = math.ceil((max(vals) + step / 4) / step) * step
        xmax = math.log2(1 + max(depths)) or 1

        def x(d):
            return left + math.log2(1 + d) / xmax * (W - left - right)

        def y(v):
            return top + (hi - v) / (hi - lo) * (H - top - bottom)
        S = svg_header(
            W, H, 'patched vs stock: instructions per operation against the depth '
            '(%s mode, %s)' % (html.escape(self.E['MODE']), html.escape(self.E['DATE_START'])),
            'Overhead of patched over stock in %% (callgrind, marginal cost, mean of the '
            'repetitions%s)' % ('; fio mix: qcow2 part\'s delta / stock\'s total'
                                if any(t.basis == 'qcow2' for t, _ in self.plot) else ''))
        a = S.append
        for i in range(int(round((hi - lo) / step)) + 1):
            v = round(lo + i * step, 6)
            a('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="%s"/>'
              % (left, y(v), W - right, y(v), '#888' if v == 0 else '#eee'))
            a('<text x="%d" y="%.1f" text-anchor="end" fill="#555">%s%%</text>'
              % (left - 6, y(v) + 4, '%+g' % v if v else '0'))
        for d in depths:
            a('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#eee"/>'
              % (x(d), top, x(d), H - bottom))
            a('<text x="%.1f" y="%d" text-anchor="middle" fill="#555">%d</text>'
              % (x(d), H - bottom + 16, d))
        for target in targets:
            a('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#555" '
              'stroke-dasharray="6,4"/>' % (left, y(target), W - right, y(target)))
            a('<text x="%d" y="%.1f" fill="#555">goal +%g%%: %s</text>'
              % (left + 4, y(target) - 4, target, html.escape('; '.join(
                  t.label for t, _ in self.plot if t.target == target))))
        for i, (t, pts) in enumerate(self.plot):
            a('<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>'
              % (t.colour, ' '.join('%.1f,%.1f' % (x(d), y(v)) for d, v in pts)))
            for d, v in pts:
                a('<circle cx="%.1f" cy="%.1f" r="3.5" fill="%s"><title>%s, %s %d: %+.2f%%'
                  '</title></circle>' % (x(d), y(v), t.colour, html.escape(t.label), t.dcol,
                                         d, v))
            ly = top + 10 + 36 * i
            a('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="2"/>'
              % (W - right + 16, ly, W - right + 40, ly, t.colour))
            a('<text x="%d" y="%d">%s (per %s)</text>'
              % (W - right + 46, ly + 4, html.escape(t.label), html.escape(t.dcol)))
            a('<text x="%d" y="%d" fill="#555">%s</text>'
              % (W - right + 46, ly + 20, html.escape(', '.join(
                  '%d: %+.2f%%' % (d, v) for d, v in pts))))
        a('<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#888"/>'
          % (left, top, W - left - right, H - top - bottom))
        a('<text x="%.1f" y="%d" text-anchor="middle">queue depth (QD), or requests in flight '
          '(N), log scale</text>' % ((left + W - right) / 2, H - 14))
        a('</svg>')
        return '\n'.join(S) + '\n'


def svg_path(out):
    """X.md -> X.svg"""
    return (out[:-3] if out.endswith('.md') else out) + '.svg'


def write_report(work, out, E):
    Report(work, E).write(out, svg_path(out))


# --- main ---------------------------------------------------------------------

def measure(s, rows, work):
    """The whole run in work -> the values of REPORT_VARS."""
    t_start = time.time()
    b = Bench(s, work)
    for impl, directory in IMPLS:
        b.snapshot(impl, directory)
    b.tree_state('patched', PATCHED_TREE)
    b.tree_state('stock', STOCK_SRC)
    log("mode %s, rows '%s', %d repeats, work dir %s" % (s['MODE'], rows, s['REPEAT'], work))
    # strings, as read back from env.sh
    E = {k: str(s[k]) for k in REPORT_VARS if k in s}
    E['DATE_START'] = utc_stamp()
    E['LOAD_START'] = loadavg()
    try:
        for g in GROUPS:
            if re.fullmatch('(%s)' % rows, g.name):
                b.run_group(g)
    finally:
        for p in list(b.daemons):
            b.stop(p)
    b.rebuilt_notes()
    E['LOAD_END'] = loadavg()
    E['RUNTIME'] = str(int(time.time() - t_start))
    write_env(b.path('env.sh'), {k: E[k] for k in REPORT_VARS})
    return E


def keep(work, directory):
    """Copy the raw results (and the callgrind_annotate outputs) of work."""
    os.makedirs(directory, exist_ok=True)
    for f in RAW_FILES:
        if os.path.exists(os.path.join(work, f)):
            shutil.copy(os.path.join(work, f), directory)
    shutil.copytree(os.path.join(work, 'cg'), os.path.join(directory, 'cg'),
                    dirs_exist_ok=True)
    log('raw results kept in %s' % directory)


def main(argv):
    """Measure and write the report, or only write it again
    (BENCH_QD_REPORT); no arguments, everything is in the environment."""
    if argv:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    out = os.environ.get('BENCH_QD_OUT') or os.path.join(DOCS, 'benchmarks-qd.md')
    kept = os.environ.get('BENCH_QD_REPORT', '')
    if kept:
        if not os.path.isfile(os.path.join(kept, 'env.sh')):
            die('%s/env.sh is missing (not a BENCH_QD_KEEP directory?)' % kept)
        write_report(kept, out, read_env(os.path.join(kept, 'env.sh')))
        log('report written to %s from %s' % (out, kept))
        return 0
    s = settings()
    rows = os.environ.get('BENCH_QD_ROWS') or 'alloc|small|discard|mix'
    for tool in ('valgrind', 'callgrind_annotate'):
        if not shutil.which(tool):
            die('%s is missing (apt-get install valgrind)' % tool)
    if re.fullmatch('(%s)' % rows, 'mix'):
        need_fio_nbd()
    t_start = time.time()
    work = tempfile.mkdtemp(prefix='qcow2-bench-qd.',
                            dir=os.environ.get('BENCH_QD_TMP') or '/dev/shm')
    # SIGTERM as Ctrl-C: the work directory and our daemons are cleaned up
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        E = measure(s, rows, work)
        # kept first: a report that fails can be written again from it
        if os.environ.get('BENCH_QD_KEEP'):
            keep(work, os.environ['BENCH_QD_KEEP'])
        write_report(work, out, E)
    except KeyboardInterrupt:
        return 130
    finally:
        shutil.rmtree(work, ignore_errors=True)
    log('report written to %s (%d s)' % (out, time.time() - t_start))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
