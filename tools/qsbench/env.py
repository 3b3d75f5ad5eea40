"""Paths of the clone and its builds (as tools/common.sh), and logging."""
import os
import random
import subprocess
import sys

TOP = os.path.realpath(os.path.join(os.path.dirname(__file__), '..', '..'))
BUILD = os.path.join(TOP, 'build')
TREE = os.path.join(BUILD, 'qemu')          # git tree: tag "base" + series
STOCK = os.path.join(BUILD, 'stock')        # meson build dir of the base
PATCHED = os.path.join(BUILD, 'patched')    # meson build dir of the series
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
