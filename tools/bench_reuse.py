#!/usr/bin/python3
"""
What crash-safe reuse of freed qcow2 clusters costs: image growth and
throughput under a discard-heavy mix, with and without guest flushes.

qemu-storage-daemon exports a qcow2 image (64K clusters, 1 GiB, the
range [256M, 512M) written) over NBD; fio (ioengine=nbd) runs, for
RUNTIME seconds, 4K random rewrites in [0, 256M) (job "rewrite", QD16),
64K random trims in [256M, 512M) (job "trims", QD4) and 64K random writes
in the same range (job "realloc", QD4), so that trims keep freeing
clusters and writes keep allocating.  With --flush-every N, the rewrite
and realloc jobs send a flush every N writes.

The builds (stock, the series without the patch, the series) run in
turns, REPS times each; the report gives medians: writes/s (rewrite +
realloc), the 99th percentile of the rewrite job's write completion
latency, trims/s, how much the image file grew (its size, and the space
it occupies on the host, which counts the holes that host discards
punch).

usage: tools/bench_reuse.py [--runtime S] [--reps N] [--out FILE]
                            NAME=BUILD_DIR ...
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

FIO_JOBS = """
[global]
ioengine=nbd
uri=${{NBD_URI}}
time_based=1
runtime={runtime}
randrepeat=1
norandommap=1
{flush}

[rewrite]
rw=randwrite
bs=4k
iodepth=16
offset=0
size=256m

[trims]
rw=randtrim
bs=64k
iodepth=4
offset=256m
size=256m

[realloc]
rw=randwrite
bs=64k
iodepth=4
offset=256m
size=256m
"""


def prepare(work, build):
    base = os.path.join(work, 'base.qcow2')
    img = os.path.join(build, 'qemu-img')
    io = os.path.join(build, 'qemu-io')
    subprocess.run([img, 'create', '-q', '-f', 'qcow2', '-o',
                    'cluster_size=64k', base, '1G'], check=True)
    subprocess.run([io, '-f', 'qcow2', '-c', 'write -P 7 256M 256M', base],
                   check=True, stdout=subprocess.DEVNULL)
    return base


def run_once(work, base, build, runtime, flush_every):
    d = tempfile.mkdtemp(dir=work)
    img = os.path.join(d, 'img.qcow2')
    sock = os.path.join(d, 'nbd.sock')
    shutil.copy(base, img)
    st0 = os.stat(img)
    qsd = subprocess.Popen([
        os.path.join(build, 'storage-daemon', 'qemu-storage-daemon'),
        '--blockdev', f'driver=file,node-name=file0,filename={img},'
                      'discard=unmap',
        '--blockdev', 'driver=qcow2,node-name=fmt0,file=file0,discard=unmap',
        '--nbd-server', f'addr.type=unix,addr.path={sock}',
        '--export', 'type=nbd,id=exp0,node-name=fmt0,name=disk,writable=on',
    ], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    for _ in range(100):
        if os.path.exists(sock):
            break
        time.sleep(0.1)
    jobs = os.path.join(d, 'mix.fio')
    flush = f'fsync={flush_every}' if flush_every else ''
    with open(jobs, 'w', encoding='utf-8') as f:
        f.write(FIO_JOBS.format(runtime=runtime, flush=flush))
    env = dict(os.environ, NBD_URI=f'nbd+unix:///disk?socket={sock}')
    res = subprocess.run(['fio', '--output-format=json', jobs], env=env,
                         capture_output=True, text=True, check=False)
    qsd.terminate()
    qsd.wait()
    if res.returncode != 0:
        sys.exit(f'fio failed: {res.stderr}')
    out = json.loads(res.stdout[res.stdout.index('{'):])
    jobs_by_name = {j['jobname']: j for j in out['jobs']}
    writes = (jobs_by_name['rewrite']['write']['total_ios'] +
              jobs_by_name['realloc']['write']['total_ios'])
    trims = jobs_by_name['trims']['trim']['total_ios']
    pct = jobs_by_name['rewrite']['write']['clat_ns'].get('percentile', {})
    p99 = pct.get('99.000000', 0) / 1000
    check = subprocess.run([os.path.join(build, 'qemu-img'), 'check',
                            '--output=json', img],
                           capture_output=True, text=True, check=False)
    st1 = os.stat(img)
    shutil.rmtree(d)
    result = json.loads(check.stdout) if check.stdout else {}
    return {
        'writes_s': writes / runtime,
        'trims_s': trims / runtime,
        'p99_us': p99,
        'grow_size_mib': (st1.st_size - st0.st_size) / 2**20,
        'grow_disk_mib': (st1.st_blocks - st0.st_blocks) * 512 / 2**20,
        'check_ok': check.returncode == 0 and not result.get('leaks') and
                    not result.get('corruptions'),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--runtime', type=int, default=10)
    ap.add_argument('--reps', type=int, default=3)
    ap.add_argument('--flush-every', type=int, action='append',
                    help='0: no flush (default: 0 and 64)')
    ap.add_argument('--out')
    ap.add_argument('builds', nargs='+', metavar='NAME=BUILD_DIR')
    args = ap.parse_args()
    builds = [b.split('=', 1) for b in args.builds]
    flushes = args.flush_every or [0, 64]

    work = tempfile.mkdtemp(prefix='bench-reuse.')
    base = prepare(work, builds[0][1])
    lines = ['| flushes | build | writes/s | 4K rewrite p99 latency | '
             'trims/s | file size grew | host space grew | qemu-img check |',
             '|---|---|---|---|---|---|---|---|']
    try:
        for fl in flushes:
            runs = {name: [] for name, _ in builds}
            for rep in range(args.reps):
                # A different order each time, so that no build always
                # runs first
                order = builds[rep % len(builds):] + builds[:rep % len(builds)]
                for name, build in order:
                    r = run_once(work, base, build, args.runtime, fl)
                    runs[name].append(r)
                    print(f'flush={fl} rep={rep} {name}: {r}', flush=True)
            ref = statistics.median(r['writes_s'] for r in runs[builds[0][0]])
            ref99 = statistics.median(r['p99_us'] for r in runs[builds[0][0]])
            for name, _ in builds:
                rs = runs[name]
                w = statistics.median(r['writes_s'] for r in rs)
                t = statistics.median(r['trims_s'] for r in rs)
                p99 = statistics.median(r['p99_us'] for r in rs)
                gs = statistics.median(r['grow_size_mib'] for r in rs)
                gd = statistics.median(r['grow_disk_mib'] for r in rs)
                ok = all(r['check_ok'] for r in rs)
                lines.append(
                    f'| {"every " + str(fl) + " writes" if fl else "none"} '
                    f'| {name} | {w:.0f} ({w / ref:.3f}x) '
                    f'| {p99:.0f} us ({p99 / ref99:.2f}x) | {t:.0f} '
                    f'| {gs:+.1f} MiB | {gd:+.1f} MiB '
                    f'| {"clean" if ok else "NOT CLEAN"} |')
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report = '\n'.join(lines)
    print(report)
    if args.out:
        with open(args.out, 'w', encoding='utf-8') as f:
            f.write(report + '\n')


if __name__ == '__main__':
    main()
