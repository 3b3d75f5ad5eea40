#!/usr/bin/python3
"""
The discard mix of `make bench` (tools/qsbench/hot.py, MIX_ROWS: fio over
NBD against qemu-storage-daemon, 4K rewrites, 64K trims and reallocating
writes, a client that zeroes clusters) for any number of builds, in turns,
to find which patch a change of the mix's figures comes from: the median
write IOPS, the 4K write p99 latency (us), trims/s and zeroed clusters.

  tools/bench_mix_builds.py REPS NAME=BUILD_DIR ...

BENCH_MIX_FILE_DISCARD=ignore runs the image's file node with
discard=ignore (default unmap), so that no host discard is made.
"""
import os
import statistics
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qsbench import hot  # noqa: E402


def main(argv):
    if len(argv) < 2 or not argv[0].isdigit():
        sys.exit(__doc__)
    reps = int(argv[0])
    builds = dict(a.split('=', 1) for a in argv[1:])
    fd = os.environ.get('BENCH_MIX_FILE_DISCARD', 'unmap')
    orig_spawn = hot.Bench.spawn

    def spawn(self, args, **kw):
        args = [a.replace(',discard=unmap', ',discard=' + fd)
                if a.startswith('driver=file') else a for a in args]
        return orig_spawn(self, args, **kw)
    hot.Bench.spawn = spawn
    hot.Bench.build = staticmethod(lambda impl, aa=False: builds[impl])
    cfg = hot.Config()
    b = hot.Bench(cfg, tempfile.mkdtemp(prefix='mix.', dir=cfg.tmp))
    try:
        b.make_base()
        with open(os.path.join(b.work, 'mix.fio'), 'w') as f:
            f.write(hot.MIX_FIO % cfg.mix_runtime)
        names = list(builds)
        res = {n: [] for n in names}
        for rep in range(reps):
            # a different build first each time
            for n in names[rep % len(names):] + names[:rep % len(names)]:
                r = b.mix_once(n)
                print('rep %d %s: %s' % (rep, n, r), flush=True)
                if r:
                    res[n].append(r)
        print('file node discard=%s, %d runs of %d s per build, medians:'
              % (fd, reps, cfg.mix_runtime))
        for n in names:
            rs = res[n]
            if not rs:
                print('%-10s no successful run' % n)
                continue
            print('%-10s write IOPS %6.0f  p99 %8.1f us  trims/s %6.0f  '
                  'zeroed clusters %6.0f' % (
                      n, *(statistics.median(float(r[k]) for r in rs)
                           for k in ('iops', 'p99', 'trims', 'zeroes'))))
    finally:
        b.cleanup()


if __name__ == '__main__':
    main(sys.argv[1:])
