"""
Paths of the clone and its builds (as tools/common.sh), logging, and what
every benchmark asks of the machine: its description, its load and busy
processes, running and ending commands, checksums of binaries.
"""
import hashlib
import os
import random
import re
import resource
import shlex
import shutil
import subprocess
import sys
import time

TOP = os.path.realpath(os.path.join(os.path.dirname(__file__), '..', '..'))
BUILD = os.path.join(TOP, 'build')
TREE = os.path.join(BUILD, 'qemu')          # git tree: tag "base" + series
STOCK = os.path.join(BUILD, 'stock')        # meson build dir of the base
# meson build dir of the series (BENCH_PATCHED: another one, e.g. of the
# fix series alone, with BENCH_PATCHED_TREE its source tree; bench.py qd)
PATCHED = os.environ.get('BENCH_PATCHED') or os.path.join(BUILD, 'patched')
PATCHED_TREE = os.environ.get('BENCH_PATCHED_TREE') or TREE
DOCS = os.path.join(TOP, 'docs')
QS_CACHE = os.environ.get('QS_CACHE', '/var/cache/qcow2-series')
# Debian's python, which has python3-libnbd; QEMU's python/ from the tree
PY = '/usr/bin/python3'

PROG = os.path.basename(sys.argv[0])


def log(msg):
    print('[%s] %s' % (PROG, msg), file=sys.stderr, flush=True)


def die(msg):
    log('error: ' + msg)
    sys.exit(1)


def qemu_python():
    """Make QEMU's own python/ (qemu.qmp, qemu.machine) importable."""
    path = os.path.join(TREE, 'python')
    if not os.path.isdir(os.path.join(path, 'qemu', 'qmp')):
        die('%s is missing: run make tree' % path)
    if path not in sys.path:
        sys.path.insert(0, path)


def need_builds(tools=('qemu-img', 'qemu-io',
                       'storage-daemon/qemu-storage-daemon'),
                builds=(STOCK, PATCHED)):
    for b in builds:
        for t in tools:
            if not os.access(os.path.join(b, t), os.X_OK):
                die('missing %s/%s: run make build' % (b, t))


def env_int(name, default, minimum=1):
    """A positive (or >= minimum) integer from the environment."""
    v = os.environ.get(name, '')
    if v == '':
        return default
    if not v.isdigit() or int(v) < minimum:
        die('%s must be an integer of at least %d' % (name, minimum))
    return int(v)


def source_image(kind, directory, mib, qemu_img, tmp):
    """
    The source images of the benchmarks, every cluster allocated (-S 0),
    generated once into directory with qemu_img; returns the path.
      mixed         1 MiB chunks cycling through seeded random data
                    (incompressible), zeroes and repetitive text
      compressible  64 KiB clusters: one in 12 zero, the others text in
                    which 0, 2, 4 or 8 of the 16 4 KiB blocks are seeded
                    random data (compressed to very roughly 10%, 20%, 35%
                    and 55%), so every non-zero cluster is stored compressed
    The same bytes (and names, so cached images are reused) as the shell
    tools that came before tools/bench.py.
    """
    if kind not in ('mixed', 'compressible'):
        die('unknown benchmark image kind: ' + kind)
    src = os.path.join(directory, '%s-%dM-v1.qcow2' % (kind, mib))
    if os.path.isfile(src):
        return src
    os.makedirs(directory, exist_ok=True)
    log('generating %s (once)' % src)
    raw = os.path.join(tmp, kind + '.raw')
    text = b''.join(b'%08d qcow2 in-flight host range references, line of text\n' % i
                    for i in range(20000))
    MIB, CL, BLK = 1 << 20, 1 << 16, 1 << 12
    with open(raw, 'wb') as f:
        if kind == 'mixed':
            for i in range(mib):
                k = i % 3
                if k == 0:
                    f.write(random.Random(i).randbytes(MIB))
                elif k == 1:
                    f.write(bytes(MIB))
                else:
                    off = (i * 4099) % (len(text) - MIB)
                    f.write(text[off:off + MIB])
        else:
            for i in range(mib * (MIB // CL)):
                if i % 12 == 11:
                    f.write(bytes(CL))
                    continue
                rnd = random.Random(i)
                off = (i * 4099) % (len(text) - CL)
                c = bytearray(text[off:off + CL])
                for b in rnd.sample(range(CL // BLK),
                                    (0, 2, 4, 8)[(i * 7 + i // 12) % 4]):
                    c[b * BLK:(b + 1) * BLK] = rnd.randbytes(BLK)
                f.write(c)
    tmpname = '%s.tmp.%d' % (src, os.getpid())
    subprocess.run([qemu_img, 'convert', '-S', '0', '-f', 'raw', '-O', 'qcow2',
                    raw, tmpname], check=True)
    os.rename(tmpname, src)
    os.unlink(raw)
    return src


# --- the machine ---------------------------------------------------------------

def loadavg(n=3):
    """The first n load averages of /proc/loadavg, as text ("0.52 0.61 0.70")."""
    with open('/proc/loadavg') as f:
        return ' '.join(f.read().split()[:n])


def utc_stamp(t=None):
    """When a run was taken, as the reports write it."""
    return time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(t))


def cpu_model(default='?'):
    """The CPU's model name from /proc/cpuinfo."""
    with open('/proc/cpuinfo') as f:
        for line in f:
            if line.startswith('model name'):
                return line.split(':', 1)[1].strip()
    return default


def mem_total_kib():
    """MemTotal of /proc/meminfo, in KiB (None if it is not there)."""
    with open('/proc/meminfo') as f:
        for line in f:
            if line.startswith('MemTotal:'):
                return int(line.split()[1])
    return None


def os_name():
    """PRETTY_NAME of /etc/os-release ('?' if there is none)."""
    name = '?'
    try:
        with open('/etc/os-release') as f:
            for line in f:
                if line.startswith('PRETTY_NAME='):
                    name = ''.join(shlex.split(line[len('PRETTY_NAME='):]))
    except OSError:
        pass
    return name


def machine_rows():
    """nproc, CPU, memory, kernel and OS of this machine, as (key, value)
    rows of a report's machine table."""
    mem = mem_total_kib()
    u = os.uname()
    return [('nproc', str(len(os.sched_getaffinity(0)))),
            ('CPU', cpu_model()),
            ('memory', '?' if mem is None else '%.1f GiB' % (mem / 1048576)),
            ('kernel', ' '.join((u.sysname, u.release, u.version, u.machine))),
            ('OS', os_name())]


def command_output(cmd):
    """The stripped output of a command (argv, or a str for the shell),
    '?' if it cannot run: a machine table shows what it can rather than
    failing."""
    try:
        return subprocess.check_output(cmd, shell=isinstance(cmd, str), text=True,
                                       stderr=subprocess.DEVNULL).strip()
    except (OSError, subprocess.CalledProcessError):
        return '?'


def busy_processes(pattern):
    """Other processes whose command line matches the regex pattern
    ("pid: command line"), not counting this process and its ancestors
    (the make or bench.py that started it)."""
    anc, p = {os.getpid()}, os.getpid()
    while p > 1:
        try:
            with open('/proc/%d/stat' % p) as f:
                p = int(f.read().rsplit(')', 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            break
        anc.add(p)
    out = []
    for d in sorted((d for d in os.listdir('/proc') if d.isdigit()), key=int):
        if int(d) in anc:
            continue
        try:
            with open('/proc/%s/cmdline' % d, 'rb') as f:
                cmd = f.read().replace(b'\0', b' ').decode(errors='replace')
        except OSError:
            continue
        if cmd and re.search(pattern, cmd):
            out.append('%s: %s' % (d, cmd[:80]))
    return out


def need_fio_nbd():
    """fio with its nbd ioengine, which the NBD rows drive."""
    if not shutil.which('fio'):
        die('fio is missing (apt-get install fio)')
    if subprocess.run(['fio', '--enghelp=nbd'], stdout=subprocess.DEVNULL,
                      stderr=subprocess.DEVNULL).returncode:
        die('this fio has no nbd ioengine')


# --- processes and files --------------------------------------------------------

def stop_process(p, grace):
    """End a child of ours: SIGTERM, then SIGKILL if it is still there
    after grace seconds."""
    if p.poll() is None:
        p.terminate()
        try:
            p.wait(grace)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def run_timed(argv, log_path, timeout, grace=10, environ=None):
    """
    Runs argv (output to log_path, environment environ or ours), ended
    after timeout seconds (SIGTERM, SIGKILL grace seconds later: 0 for a
    valgrind, which obeys nothing else when stuck); returns (exit status,
    wall seconds, CPU seconds).  The CPU time is the growth of
    RUSAGE_CHILDREN while only this child is waited for, i.e. its own.  A
    binary that cannot be executed (being rebuilt by someone else) fails
    the run with status 126, not the whole benchmark; a timeout gives 124.
    """
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(log_path, 'wb') as out:
        t0 = time.monotonic()
        try:
            p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                                 stderr=subprocess.STDOUT, env=environ)
        except OSError as e:
            out.write(b'cannot run %s: %s\n' % (argv[0].encode(), str(e).encode()))
            return 126, 0.0, 0.0
        try:
            rc = p.wait(timeout)
        except subprocess.TimeoutExpired:
            out.write(b'\n(timed out after %d s)\n' % timeout)
            rc = 124
        finally:
            stop_process(p, grace)
        wall = time.monotonic() - t0
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    return rc, wall, cpu


def tail_lines(path, n):
    """The last n lines of a log, for a failure's message ('' if it cannot
    be read)."""
    try:
        with open(path, errors='replace') as f:
            return ''.join(f.readlines()[-n:])
    except OSError:
        return ''


def sha256(path):
    """The SHA-256 of a file (a binary under test), in hex."""
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            h.update(chunk)
    return h.hexdigest()
