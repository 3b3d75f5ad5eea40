#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Seeded, time-bounded, randomized concurrency stress test of qcow2.

qemu-storage-daemon serves a qcow2 image over NBD (unix socket in a temporary
directory).  A throttle filter node between qcow2 and its file delays every
host I/O, which widens the window in which qcow2 has dropped its lock while
guest data is read or written.  Two exports share the qcow2 node: "plain"
(the qcow2 node itself) and "comp" (a compress filter on top of it, so that
writes through it are compressed writes).

Several libnbd connections keep many requests in flight: writes, reads,
trims, write-zeroes with and without NBD_CMD_FLAG_NO_HOLE, compressed
writes, flushes.  A shadow model tracks, for every 4K block, which values it
may hold, and every read is checked against it.  At the end the whole image
is read and checked, the daemon is stopped, `qemu-img check` (same build)
must find no corruption and no leak, and the image as qemu-img reads it must
equal what the final NBD read returned.

Every 4K block written holds one 16-byte unit repeated 256 times:
b"QS" + 2-byte run tag + u32 op id + u64 guest block index.  Any data found
where it does not belong therefore names the request that wrote it and the
guest block it was meant for.

The sequence of requests is a pure function of the seed (and of the options),
so --seed replays the same requests; their interleaving depends on timing.

Exit status: 0 pass, 1 a check failed (corruption, I/O error, crash, qemu-img
check), 2 usage or setup error.
"""

import argparse
import errno
import json
import os
import random
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time

import nbd

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BLK = 4096
UNITS = BLK // 16
ZERO_BLOCK = bytes(BLK)
MAGIC = b"QS"


def parse_size(s):
    s = s.strip().upper()
    mult = 1
    for suf, m in (("K", 1 << 10), ("M", 1 << 20), ("G", 1 << 30)):
        if s.endswith(suf):
            s, mult = s[:-1], m
            break
    return int(s) * mult


def human(n):
    for suf, m in (("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)):
        if n >= m and n % m == 0:
            return "%d%s" % (n // m, suf)
    return str(n)


class Fail(Exception):
    pass


# ---------------------------------------------------------------- the model

class Mut:
    """A request that changes data: write, cwrite, trim, zero, zero_nohole."""
    __slots__ = ("op", "s", "c", "b0", "b1", "sb0", "sb1", "failed", "wild")

    def __init__(self, op, s, b0, b1, sb0, sb1):
        self.op = op
        self.s = s          # logical time of submission
        self.c = None       # logical time of completion (None: in flight)
        self.b0, self.b1 = b0, b1        # blocks [b0, b1) it touches
        self.sb0, self.sb1 = sb0, sb1    # blocks it certainly sets (strong)
        # failed: the request failed (--inject): its blocks may hold its
        # value or any earlier one.  wild: a failed compressed write, whose
        # L2 entry qcow2 links before writing the data and does not unlink
        # when that write fails (both builds): its clusters may hold
        # anything, or fail to read, until they are written again.
        self.failed = False
        self.wild = False


class Op:
    __slots__ = ("id", "kind", "off", "len", "conn", "s", "c", "err", "buf",
                 "mut", "snap", "extra", "t", "pre", "overlapped")

    def __init__(self, id, kind, off, length):
        self.id, self.kind, self.off, self.len = id, kind, off, length
        self.conn = None
        self.s = self.c = None
        self.err = None
        self.buf = None
        self.mut = None
        self.snap = None
        self.extra = None
        self.t = None
        self.pre = None
        # a compressed write that another mutation overlapped while in flight
        self.overlapped = False

    def describe(self):
        times = "t=[%s,%s]" % (self.s, self.c if self.c is not None else "-")
        if self.kind == "flush":
            return "#%d flush conn%s %s" % (self.id, self.conn, times)
        kind = self.kind + ("*" if self.pre is not None and self.kind != "cwrite" else "")
        return "#%d %-11s off=%-8s len=%-6s (blocks %d..%d) conn%s %s" % (
            self.id, kind, human(self.off), human(self.len),
            self.off // BLK, (self.off + self.len) // BLK - 1, self.conn, times)


INIT = Mut(None, -1, 0, 0, 0, 0)
INIT.c = -1


class Model:
    def __init__(self, nblocks, tag, history=False):
        self.nblocks = nblocks
        self.tag = tag
        self.live = [[INIT] for _ in range(nblocks)]
        self.reads = {}     # op id -> read Op in flight
        # --crash: every mutation of every block, in submission order
        self.hist = [[] for _ in range(nblocks)] if history else None

    def unit(self, opid, b):
        return MAGIC + struct.pack("<HIQ", self.tag, opid, b)

    def block_value(self, mut, b):
        if mut is INIT or mut.op.kind not in ("write", "cwrite"):
            return ZERO_BLOCK
        return self.unit(mut.op.id, b) * UNITS

    def data(self, op):
        b0 = op.off // BLK
        return b"".join(self.unit(op.id, b) * UNITS
                        for b in range(b0, b0 + op.len // BLK))

    def submit_mut(self, op, clock, cluster):
        b0, b1 = op.off // BLK, (op.off + op.len) // BLK
        sb0, sb1 = b0, b1
        if op.kind == "trim":
            # NBD: after a trim, the client may not assume anything about the
            # contents until it writes them again: each block either keeps
            # its data or reads as zeroes (qcow2 ignores the parts that do
            # not cover whole clusters, and zeroes the rest).
            sb0 = sb1 = b0
        m = Mut(op, clock, b0, b1, sb0, sb1)
        op.mut = m
        for b in range(b0, b1):
            self.live[b].append(m)
        if self.hist is not None:
            for b in range(b0, b1):
                self.hist[b].append(m)
        for r in self.reads.values():
            lo, hi = max(b0, r.off // BLK), min(b1, (r.off + r.len) // BLK)
            for b in range(lo, hi):
                r.extra.setdefault(b, []).append(m)

    def complete_mut(self, op, clock, failed=False, wild=True):
        m = op.mut
        m.c = clock
        if failed:
            # the range becomes "unknown": any of the values involved
            m.failed = True
            m.wild = wild and op.kind == "cwrite"
            m.sb1 = m.sb0
        for b in range(m.sb0, m.sb1):
            # Whatever completed before m was submitted can no longer be
            # seen by a read that starts from now on.
            self.live[b] = [x for x in self.live[b]
                            if x is m or x.c is None or x.c > m.s]

    def submit_read(self, op):
        b0, b1 = op.off // BLK, (op.off + op.len) // BLK
        op.snap = [list(self.live[b]) for b in range(b0, b1)]
        op.extra = {}
        self.reads[op.id] = op

    def complete_read(self, op):
        del self.reads[op.id]

    def decode(self, chunk):
        """Say what a 4K chunk holds."""
        if chunk == ZERO_BLOCK:
            return "zeroes"
        u = chunk[:16]
        if chunk == u * UNITS and u[:2] == MAGIC:
            tag, opid, b = struct.unpack("<HIQ", u[2:])
            if tag == self.tag:
                return "data of op #%d for guest block %d" % (opid, b)
            return "data of another run (tag %d) op #%d block %d" % (tag, opid, b)
        units = {chunk[i:i + 16] for i in range(0, BLK, 16)}
        if len(units) <= 4 and all(x[:2] == MAGIC or x == bytes(16) for x in units):
            return "mixed units: " + ", ".join(
                "zero" if x == bytes(16) else "op #%d/block %d" %
                struct.unpack("<IQ", x[4:]) for x in sorted(units))
        return "unknown bytes %s..." % chunk[:32].hex()

    def after_crash(self, b, durable_before):
        """The values block b may hold after a crash, if every mutation that
        completed before logical time durable_before was flushed (an NBD
        flush submitted at that time completed before the crash).

        A strong mutation d of b that is durable supersedes every mutation
        that completed before d was submitted; everything else (mutations
        in flight at the crash or not flushed, trims, failed requests, and
        what raced with d) may or may not have reached the image."""
        hist = self.hist[b]
        maxds = None
        for m in hist:
            if (m.c is not None and m.c < durable_before and
                    m.sb0 <= b < m.sb1 and not m.failed):
                if maxds is None or m.s > maxds:
                    maxds = m.s
        return [x for x in [INIT] + hist
                if maxds is None or x.c is None or x.c >= maxds]

    def check_block(self, b, chunk, cands, concurrent):
        """True if chunk is an allowed value for block b."""
        if any(m.wild for m in cands):
            return True
        for m in cands:
            if chunk == self.block_value(m, b):
                return True
        if concurrent:
            # A read racing a write of the same block may in principle see
            # a mix of the old and the new data: accept a mix of allowed
            # 16-byte units.
            allowed = {bytes(self.block_value(m, b)[:16]) for m in cands}
            if all(bytes(chunk[i:i + 16]) in allowed
                   for i in range(0, BLK, 16)):
                return True
        return False

    def check_read(self, op, data):
        """Return a list of problems (strings)."""
        bad = []
        b0 = op.off // BLK
        for i, snap in enumerate(op.snap):
            b = b0 + i
            cands = snap + op.extra.get(b, [])
            chunk = data[i * BLK:(i + 1) * BLK]
            concurrent = any(m.c is None or m.c > op.s for m in cands)
            if not self.check_block(b, chunk, cands, concurrent):
                bad.append((b, chunk, cands))
        return bad

    def describe_cands(self, cands):
        out = []
        for m in cands:
            if m is INIT:
                out.append("initial zeroes")
            else:
                o = m.op
                what = "data of #%d" % o.id if o.kind in ("write", "cwrite") \
                    else "zeroes"
                out.append("%s (%s t=[%s,%s]%s)" % (what, o.kind, m.s, m.c,
                                                  " failed" if m.failed else ""))
        return "; ".join(out)


# ---------------------------------------------------------------- workload

KIND_WEIGHTS = [
    ("write", 30), ("read", 28), ("trim", 12), ("zero", 9),
    ("zero_nohole", 5), ("cwrite", 12), ("flush", 1),
]

# --compressed-heavy: a third of the requests are compressed writes
COMPRESSED_HEAVY_WEIGHTS = [
    ("write", 20), ("read", 22), ("trim", 10), ("zero", 8),
    ("zero_nohole", 4), ("cwrite", 35), ("flush", 1),
]

# --inject: blkdebug events that error injection windows pick from (data
# writes and reads, L2 and refcount updates, cluster allocation and frees)
INJECT_EVENTS = [
    "write_aio", "write_compressed", "read_aio", "read_compressed",
    "l2_update", "l2_update_compressed", "l2_alloc_write", "l2_load",
    "refblock_update", "refblock_update_part", "refblock_alloc",
    "refblock_load", "cluster_alloc", "cluster_alloc_bytes",
    "cluster_alloc_space", "cluster_free", "cow_read", "cow_write",
    "pwritev", "pwritev_zero",
]
INJECT_ERRNOS = (errno.EIO, errno.ENOSPC)


def inject_plan(seed, duration, nwin):
    """Error injection windows: [(on_time, off_time, event, errno, count,
    iotype)], a pure function of the seed."""
    rng = random.Random(seed * 31 + 7)
    seg = duration * 0.8 / nwin
    plan = []
    for k in range(nwin):
        on = seg * k + rng.uniform(0.1, seg * 0.5)
        off = on + rng.uniform(0.05, max(0.06, min(0.5, seg * 0.4)))
        plan.append((on, off, rng.choice(INJECT_EVENTS),
                     rng.choice(INJECT_ERRNOS), rng.choice((1, 1, 2, 3)),
                     rng.choice((None, None, "write"))))
    return plan


def blkdebug_node(image, plan):
    """A blkdebug node whose state starts at 1 and moves on at every flush
    of the qcow2 node above it (event flush_to_os), which only the control
    connection sends: in state 2k, window k is open and the first
    occurrence of its event makes the next `count` I/O requests (of its
    iotype) fail with its errno; odd states inject nothing."""
    inject, states = [], []
    for k, (_, _, event, err, count, iotype) in enumerate(plan):
        for _ in range(count):
            r = {"event": event, "state": 2 * k + 2, "errno": err,
                 "once": True, "immediately": False}
            if iotype:
                r["iotype"] = iotype
            inject.append(r)
    for st in range(1, 2 * len(plan) + 1):
        states.append({"event": "flush_to_os", "state": st, "new_state": st + 1})
    return {"driver": "blkdebug", "node-name": "dbg0", "image": image,
            "inject-error": inject, "set-state": states}


def gen_op(rng, i, size, cluster, kinds):
    kind = rng.choices([k for k, _ in kinds], [w for _, w in kinds])[0]
    nblk = size // BLK
    cb = cluster // BLK
    if kind == "flush":
        return Op(i, kind, 0, 0)
    if kind == "cwrite":
        n = rng.choice((1, 1, 1, 2))
        ncl = size // cluster
        c0 = rng.randrange(0, ncl - n + 1)
        return Op(i, kind, c0 * cluster, n * cluster)
    if kind in ("trim", "zero", "zero_nohole") and rng.random() < 0.6:
        # whole clusters, which is what frees host clusters
        n = rng.choice((1, 1, 2))
        ncl = size // cluster
        c0 = rng.randrange(0, ncl - n + 1)
        return Op(i, kind, c0 * cluster, n * cluster)
    n = rng.randint(1, 2 * cb)
    if rng.random() < 0.3:
        # start on a cluster boundary more often than chance would
        b0 = rng.randrange(0, nblk // cb) * cb
    else:
        b0 = rng.randrange(0, nblk)
    n = min(n, nblk - b0)
    return Op(i, kind, b0 * BLK, n * BLK)


# ---------------------------------------------------------------- processes

class Daemon:
    def __init__(self, args, build, workdir, img):
        self.sock = os.path.join(workdir, "nbd.sock")
        self.log = os.path.join(workdir, "qsd.log")
        cmd = [os.path.join(build, "storage-daemon", "qemu-storage-daemon"),
               "--blockdev", "driver=file,node-name=file0,filename=%s%s" %
               (img, ",aio=%s" % args.aio if args.aio else "")]
        lower = "file0"
        if args.iops > 0:
            cmd += ["--object", "throttle-group,id=tg0,x-iops-total=%d" % args.iops,
                    "--blockdev", "driver=throttle,node-name=thr0,"
                    "throttle-group=tg0,file=file0"]
            lower = "thr0"
        if args.inject:
            cmd += ["--blockdev", json.dumps(blkdebug_node(lower, args.plan))]
            lower = "dbg0"
        qopts = "driver=qcow2,node-name=qcow0,file=%s,discard=unmap" % lower
        if args.l2_cache:
            qopts += ",l2-cache-size=%s" % args.l2_cache
        if args.compressed_cache:
            # Two clusters only, so that the memory bound is exercised too
            qopts += (",compressed-write-cache=on,"
                      "compressed-write-cache-size=%d" % (2 * args.cluster))
        cmd += ["--blockdev", qopts,
                "--blockdev", "driver=compress,node-name=comp0,file=qcow0,discard=unmap",
                "--nbd-server", "addr.type=unix,addr.path=%s" % self.sock,
                "--export", "type=nbd,id=e0,node-name=qcow0,name=plain,writable=on",
                "--export", "type=nbd,id=e1,node-name=comp0,name=comp,writable=on"]
        for t in args.trace:
            cmd += ["--trace", t]
        self.cmd = cmd
        self.logf = open(self.log, "wb")
        self.p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self.logf,
                                  stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 20
        while not os.path.exists(self.sock):
            if self.p.poll() is not None:
                raise Fail("qemu-storage-daemon exited at start: %s" % self.tail())
            if time.monotonic() > deadline:
                raise Fail("qemu-storage-daemon did not create its socket")
            time.sleep(0.02)

    def uri(self, export):
        return "nbd+unix:///%s?socket=%s" % (export, self.sock)

    def tail(self, n=20):
        try:
            with open(self.log, "rb") as f:
                lines = f.read().decode(errors="replace").splitlines()
            return "\n".join(lines[-n:])
        except OSError:
            return ""

    def stop(self):
        """SIGTERM, wait; returns the exit status (None if it had to be killed)."""
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()
                return None
        self.logf.close()
        return self.p.returncode

    def kill(self):
        if self.p.poll() is None:
            try:
                self.p.kill()
            except ProcessLookupError:
                pass
            self.p.wait()
        if not self.logf.closed:
            self.logf.close()


class Conn:
    def __init__(self, idx, uri, export, depth, structured=True):
        self.idx = idx
        self.export = export
        self.depth = depth
        self.h = nbd.NBD()
        if not structured:
            self.h.set_request_structured_replies(False)
        # The daemon's socket file exists from bind() on, but connections
        # are refused until listen(): on a loaded machine the first connect
        # can fall in between (seen once in 554 crash runs)
        for attempt in range(50):
            try:
                self.h.connect_uri(uri)
                break
            except nbd.Error as e:
                if e.errnum != errno.ECONNREFUSED or attempt == 49:
                    raise
                self.h = nbd.NBD()
                if not structured:
                    self.h.set_request_structured_replies(False)
                time.sleep(0.1)
        self.fd = self.h.aio_get_fd()
        self.inflight = 0


# ---------------------------------------------------------------- the run

class Run:
    def __init__(self, args):
        self.args = args
        self.clock = 0
        self.failures = []
        self.first_fail_time = None
        self.ops_done = 0
        self.counts = {}
        self.cwrite_refused = 0
        self.oplog = []
        self.cl_inflight = {}
        self.killed = False
        self.flush_smax = -1        # latest submission of a completed flush
        self.errs = {}              # errno -> failed requests (--inject)
        self.err_times = []
        self.ctl_times = []         # (on/off, sent, completed, errno)
        self.extra_id = 1 << 30
        # --crash: when to kill the daemon (seeded)
        self.kill_at = random.Random(args.seed * 13 + 5).uniform(
            min(0.2, args.duration), args.duration)

    def tick(self):
        self.clock += 1
        return self.clock

    def fail(self, msg):
        if self.first_fail_time is None:
            self.first_fail_time = time.monotonic() - self.t0
            self.first_fail_op = self.ops_done
        self.failures.append(msg)
        print("FAILURE: " + msg, flush=True)

    def complete_checked(self, op, err):
        # libnbd prints and drops exceptions raised in a completion
        # callback: a bug in the checker must fail the run instead
        try:
            return self.complete(op, err)
        except Exception as e:  # pylint: disable=broad-except
            self.fail("checker error on op #%d: %r" % (op.id, e))
            return 1

    def complete(self, op, err):
        if self.killed:
            # a reply that arrives after the kill does not count
            return 1
        op.c = self.tick()
        op.t = time.monotonic() - self.t0
        for cl in self.clusters(op):
            lst = self.cl_inflight[cl]
            lst.remove(op)
            if not lst:
                del self.cl_inflight[cl]
        self.conns[op.conn].inflight -= 1
        self.ops_done += 1
        self.counts[op.kind] = self.counts.get(op.kind, 0) + 1
        e = err.value
        if op.kind == "read":
            self.model.complete_read(op)
        wild = True
        if e:
            op.err = e
            if (e == errno.EIO and op.kind == "cwrite" and op.overlapped and
                    not self.args.inject):
                # Another write allocated the cluster first, and qcow2 does
                # not let a compressed write overwrite anything: the request
                # failed before linking or writing anything.
                self.cwrite_refused += 1
                wild = False
            elif self.args.inject and e in INJECT_ERRNOS:
                self.errs[e] = self.errs.get(e, 0) + 1
                self.err_times.append(time.monotonic() - self.t0)
            else:
                self.fail("op %s failed: %s" % (op.describe(), os.strerror(e)))
        elif op.kind == "flush":
            self.flush_smax = max(self.flush_smax, op.s)
        if op.mut is not None:
            self.model.complete_mut(op, op.c, failed=bool(e), wild=wild)
        elif op.kind == "read" and not e:
            data = op.buf.to_bytearray()
            bad = self.model.check_read(op, data)
            for b, chunk, cands in bad[:4]:
                self.fail("read %s: guest block %d (offset %s) holds %s; "
                          "allowed: %s" % (op.describe(), b, human(b * BLK),
                                           self.model.decode(bytes(chunk)),
                                           self.model.describe_cands(cands)))
            if len(bad) > 4:
                self.fail("... and %d more bad blocks in that read" % (len(bad) - 4))
        op.buf = None
        op.snap = op.extra = None
        return 1

    def clusters(self, op):
        if op.kind == "flush":
            return range(0)
        cs = self.args.cluster
        return range(op.off // cs, (op.off + op.len + cs - 1) // cs)

    def covers(self, op, cl):
        cs = self.args.cluster
        return op.off <= cl * cs and op.off + op.len >= (cl + 1) * cs

    def native_zero(self, op):
        """Does qcow2 zero the whole-cluster parts of op in its L2 entries,
        without ever writing data there?

        Without extended L2 entries, the block layer hands the partial
        clusters at the head and tail of a zero write to qcow2 as separate
        requests, so only those can fall back to writing zeroed data.  With
        extended L2 entries, the whole 4K-aligned request reaches
        qcow2_subcluster_zeroize() in one piece, which fails with ENOTSUP if
        a partially covered cluster is compressed; the block layer then
        writes zeroed data over the whole request, which allocates normal
        clusters for the fully covered clusters too (on both builds), and a
        compressed write in flight on one of them then fails with EIO
        ("Compression can't overwrite anything"): soak seed 13211711.
        """
        if not self.args.extended_l2:
            return True
        cs = self.args.cluster
        return op.off % cs == 0 and op.len % cs == 0

    def conflicts(self, op):
        """Would op race a compressed write on the same cluster in a way
        that the base does not handle (see --no-compressed-overlap)?"""
        for cl in self.clusters(op):
            for o in self.cl_inflight.get(cl, ()):
                if op.kind != "cwrite" and o.kind != "cwrite":
                    continue
                other = o if op.kind == "cwrite" else op
                if other.kind == "cwrite" or not (
                        other.kind == "trim" or
                        (other.kind in ("zero", "zero_nohole") and
                         self.covers(other, cl) and self.native_zero(other))):
                    return True
        return False

    def submit(self, op):
        a = self.args
        for cl in self.clusters(op):
            # Only requests that may allocate the cluster (not reads or
            # trims) make a compressed write to it fail with EIO
            if op.kind not in ("read", "flush", "trim"):
                for o in self.cl_inflight.get(cl, ()):
                    if o.kind == "cwrite":
                        o.overlapped = True
                    if op.kind == "cwrite" and o.kind not in ("read", "trim"):
                        op.overlapped = True
            self.cl_inflight.setdefault(cl, []).append(op)
        c = self.conns[op.conn]
        h = c.h
        cb = lambda err, op=op: self.complete_checked(op, err)
        op.s = self.tick()
        op.t = time.monotonic() - self.t0
        k = op.kind
        if k in ("write", "cwrite"):
            self.model.submit_mut(op, op.s, a.cluster)
            op.buf = nbd.Buffer.from_bytearray(self.model.data(op))
            h.aio_pwrite(op.buf, op.off, completion=cb)
        elif k == "read":
            self.model.submit_read(op)
            op.buf = nbd.Buffer(op.len)
            h.aio_pread(op.buf, op.off, completion=cb)
        elif k == "trim":
            self.model.submit_mut(op, op.s, a.cluster)
            h.aio_trim(op.len, op.off, completion=cb)
        elif k == "zero":
            self.model.submit_mut(op, op.s, a.cluster)
            h.aio_zero(op.len, op.off, completion=cb)
        elif k == "zero_nohole":
            self.model.submit_mut(op, op.s, a.cluster)
            h.aio_zero(op.len, op.off, completion=cb, flags=nbd.CMD_FLAG_NO_HOLE)
        elif k == "flush":
            h.aio_flush(completion=cb)
        c.inflight += 1
        if a.log_ops:
            self.oplog.append(op)

    def pump(self, timeout):
        rl, wl, by_fd = [], [], {}
        for c in self.conns:
            d = c.h.aio_get_direction()
            if d & nbd.AIO_DIRECTION_READ:
                rl.append(c.fd)
            if d & nbd.AIO_DIRECTION_WRITE:
                wl.append(c.fd)
            by_fd[c.fd] = c
        if not rl and not wl:
            return
        r, w, _ = select.select(rl, wl, [], timeout)
        for fd in r:
            by_fd[fd].h.aio_notify_read()
        for fd in w:
            by_fd[fd].h.aio_notify_write()

    def workload(self):
        a = self.args
        rng = random.Random(a.seed)
        kinds = [(k, w) for k, w in a.weights if k not in a.skip and w > 0]
        plain = [c.idx for c in self.conns if c.export == "plain"]
        comp = [c.idx for c in self.conns if c.export == "comp"]
        np_, nc = 0, 0
        i = 0
        end = self.t0 + (self.kill_at if a.crash else a.duration)
        next_report = self.t0 + 5
        pending = None
        while True:
            now = time.monotonic()
            if a.inject:
                self.control(now)
            stop = now >= end or (a.ops and i >= a.ops) or \
                (self.failures and not a.keep_going)
            if stop:
                break
            # issue requests in their sequence order while there is room
            while True:
                if pending is None:
                    if a.ops and i >= a.ops:
                        break
                    pending = gen_op(rng, i, a.size, a.cluster, kinds)
                    i += 1
                    if pending.kind == "cwrite":
                        pending.conn = comp[nc % len(comp)]
                        nc += 1
                    else:
                        pending.conn = plain[np_ % len(plain)]
                        np_ += 1
                c = self.conns[pending.conn]
                if c.inflight >= c.depth:
                    break
                if pending.kind == "cwrite":
                    # qcow2 fails compressed writes to allocated clusters
                    # (EIO): unmap the clusters first, with nothing else in
                    # flight on them.
                    if any(cl in self.cl_inflight for cl in self.clusters(pending)):
                        break
                    if pending.pre is not None and pending.pre.err:
                        # its zero write failed (--inject): drop it
                        pending = None
                        continue
                    if pending.pre is None:
                        z = Op(pending.id, "zero", pending.off, pending.len)
                        z.conn = pending.conn
                        z.pre = pending
                        pending.pre = z
                        self.submit(z)
                        continue
                elif a.no_compressed_overlap and self.conflicts(pending):
                    break
                self.submit(pending)
                pending = None
            self.pump(0.2)
            if a.verbose and now >= next_report:
                next_report = now + 5
                print("  %5.1fs %d ops done, %d in flight" % (
                    now - self.t0, self.ops_done,
                    sum(c.inflight for c in self.conns)), flush=True)
        self.issued = i - (1 if pending is not None else 0)
        if a.crash:
            self.kill_clock = self.tick()
            self.kill_time = time.monotonic() - self.t0
            self.kill_inflight = sum(c.inflight for c in self.conns)
            self.killed = True
            self.daemon.kill()
            return
        # drain (and close the error injection windows still open)
        deadline = time.monotonic() + 60
        while any(c.inflight for c in self.conns) or (
                a.inject and self.ctl_next < len(self.ctl_plan)):
            if time.monotonic() > deadline:
                raise Fail("requests did not complete within 60 s of the end")
            if a.inject:
                self.control(float("inf"))
            self.pump(0.2)

    # ------------------------------------------------------ --inject

    def control(self, now):
        """Open and close the error injection windows, in order, with
        flushes on the control connection (see blkdebug_node())."""
        if self.ctl_busy or self.ctl_next >= len(self.ctl_plan):
            return
        if now < self.t0 + self.ctl_plan[self.ctl_next]:
            return
        c = self.conns[self.ctl]
        rec = ["on" if self.ctl_next % 2 == 0 else "off",
               time.monotonic() - self.t0, None, 0]
        self.ctl_times.append(rec)

        def done(err, rec=rec):
            if self.killed:
                return 1
            rec[2] = time.monotonic() - self.t0
            rec[3] = err.value
            self.ctl_busy = False
            c.inflight -= 1
            return 1
        c.h.aio_flush(completion=done)
        c.inflight += 1
        self.ctl_busy = True
        self.ctl_next += 1

    def wait_op(self, op, timeout=60):
        deadline = time.monotonic() + timeout
        while op.c is None:
            if time.monotonic() > deadline:
                raise Fail("op %s did not complete" % op.describe())
            self.pump(0.2)

    def rewrite_wild(self):
        """Write every cluster that a failed compressed write may have left
        with a dangling L2 entry again (with normal writes), so that the
        final checks can read it."""
        a = self.args
        bpc = a.cluster // BLK
        wild = sorted({b // bpc for b in range(self.model.nblocks)
                       if any(m.wild for m in self.model.live[b])})
        plain = [c.idx for c in self.conns if c.export == "plain"]
        for cl in wild:
            for _ in range(5):
                op = Op(self.extra_id, "write", cl * a.cluster, a.cluster)
                self.extra_id += 1
                op.conn = plain[0]
                self.submit(op)
                self.wait_op(op)
                if not op.err:
                    break
        return len(wild)

    def inject_summary(self):
        """Windows, and how many requests failed while each was open (from
        its opening flush to the next window's)."""
        opens = [r[1] for r in self.ctl_times if r[0] == "on"]
        hit = 0
        for k, t in enumerate(opens):
            t_next = opens[k + 1] if k + 1 < len(opens) else float("inf")
            if any(t <= x < t_next for x in self.err_times):
                hit += 1
        return len(opens), hit

    # ------------------------------------------------------ --crash

    def qimg(self, *args):
        return subprocess.run([os.path.join(self.args.build_dir, "qemu-img")]
                              + list(args), capture_output=True, text=True,
                              timeout=300)

    def check_json(self, img, *extra):
        p = self.qimg("check", "--output=json", *extra, img)
        try:
            j = json.loads(p.stdout)
        except ValueError:
            j = None
        return p, j

    def check_consistent(self, img, what, allow_leaks):
        """qemu-img check: no corruption; leaks (if allowed) must be repaired
        by -r leaks, after which the image must be clean."""
        p, j = self.check_json(img)
        if j is None or j.get("corruptions", 0) or j.get("check-errors", 0) \
                or (j.get("leaks", 0) and not allow_leaks):
            human_out = self.qimg("check", img)
            self.fail("%s: qemu-img check (exit %d): %s\n%s" % (
                what, p.returncode, (p.stdout.strip() or p.stderr.strip())[-1500:],
                "\n".join((human_out.stdout + human_out.stderr).splitlines()[:30])))
            return None
        leaks = j.get("leaks", 0)
        if leaks:
            r = self.qimg("check", "-r", "leaks", img)
            p2, j2 = self.check_json(img)
            if r.returncode != 0 or j2 is None or p2.returncode != 0 or any(
                    j2.get(k, 0) for k in ("corruptions", "leaks", "check-errors")):
                self.fail("%s: %d leaked clusters, and qemu-img check -r leaks "
                          "(exit %d) did not leave a clean image: %s" % (
                              what, leaks, r.returncode,
                              (r.stdout + r.stderr + p2.stdout).strip()[-1500:]))
                return None
        return leaks

    def image_flags(self, img):
        p = self.qimg("info", "--output=json", img)
        try:
            j = json.loads(p.stdout)
        except ValueError:
            self.fail("qemu-img info failed: %s" % (p.stdout + p.stderr).strip())
            return None, None
        data = j.get("format-specific", {}).get("data", {})
        return bool(j.get("dirty-flag")), bool(data.get("corrupt"))

    def reuse_exposure(self, b, blk, cands):
        """Is blk another guest block's data, found where b had a host
        cluster until a trim or zero write of b that may not have reached
        the image (not flushed)?  qcow2 reuses a freed host cluster at once,
        and nothing orders the data written into it after the L2 update
        that freed it: after a crash, b's old L2 entry can point to the
        cluster's new contents (on both builds; see docs/reliability.md).
        The new contents are the data of a write to another guest cluster,
        or what an allocating write copied there (COW) from that cluster's
        previous data, so they are some op's data for the block at the same
        offset in another guest cluster.  Returns a description, or None."""
        u = bytes(blk[:16])
        if bytes(blk) != u * UNITS or u[:2] != MAGIC:
            return None
        tag, opid, b2 = struct.unpack("<HIQ", u[2:])
        bpc = self.args.cluster // BLK
        if tag != self.model.tag or b2 >= self.model.nblocks or \
                b2 // bpc == b // bpc or b2 % bpc != b % bpc:
            return None
        frees = [f for f in cands if f is not INIT and
                 f.op.kind in ("trim", "zero", "zero_nohole")]
        if not frees:
            return None
        xm = next((m for m in self.model.hist[b2] if m.op.id == opid and
                   m.op.kind in ("write", "cwrite")), None)
        f = frees[-1]
        return ("after the kill, guest block %d holds the data of op #%d "
                "(%s) for guest block %d: the %s of block %d at t=[%s,%s] "
                "was not flushed and the host cluster it freed was reused" % (
                    b, opid, "%s t=[%s,%s]" % (xm.op.kind, xm.s, xm.c)
                    if xm else "?", b2, f.op.kind, b, f.s, f.c))

    def crash_checks(self, img, workdir):
        """After kill -9: the image opens, has no corruption (leaks are
        repaired), and every block holds a value allowed after a crash."""
        a = self.args
        st = self.crash_stats = {"leaks": 0, "dirty": False}
        dirty, corrupt = self.image_flags(img)
        st["dirty"] = dirty
        if corrupt:
            self.fail("after the kill, the image is marked corrupt")
            return
        if not (a.lazy_refcounts and dirty):
            # Without lazy refcounts, qcow2 orders its metadata writes so
            # that a crash can only leak clusters.  (A dirty image with lazy
            # refcounts is repaired when it is opened read-write; qemu-img
            # check reports its refcounts until then, as documented.)
            if self.check_consistent(img, "after the kill", True) is None:
                return
        p = subprocess.run([os.path.join(a.build_dir, "qemu-io"), "-f", "qcow2",
                            "-c", "read 0 4k", img],
                           capture_output=True, text=True, timeout=300)
        if p.returncode != 0 or "failed" in p.stdout + p.stderr:
            self.fail("after the kill, the image does not open read-write: %s"
                      % (p.stdout + p.stderr).strip()[-1500:])
            return
        leaks = self.check_consistent(img, "after the kill and a read-write "
                                      "open", True)
        if leaks is None:
            return
        st["leaks"] = leaks
        raw = os.path.join(workdir, "crash.raw")
        p = self.qimg("convert", "-f", "qcow2", "-O", "raw", img, raw)
        if p.returncode != 0:
            self.fail("after the kill: qemu-img convert failed: %s" %
                      (p.stdout + p.stderr).strip())
            return
        with open(raw, "rb") as f:
            got = f.read()
        os.unlink(raw)
        nbad = 0
        st["durable"] = 0
        st["reuse"] = 0
        for b in range(self.model.nblocks):
            cands = self.model.after_crash(b, self.flush_smax)
            if len(cands) == 1:
                st["durable"] += 1
            blk = got[b * BLK:(b + 1) * BLK]
            if not self.model.check_block(b, blk, cands, False):
                why = self.reuse_exposure(b, blk, cands)
                if why and not a.crash_strict:
                    st["reuse"] += 1
                    if st["reuse"] <= 2:
                        print("KNOWN (upstream): " + why, flush=True)
                    continue
                nbad += 1
                if nbad <= 8:
                    self.fail("after the kill: guest block %d (offset %s) holds "
                              "%s; allowed: %s" % (
                                  b, human(b * BLK), self.model.decode(blk),
                                  self.model.describe_cands(cands)))
        if nbad > 8:
            self.fail("after the kill: ... %d bad blocks in all" % nbad)

    def final_read(self):
        """Read the whole image with nothing in flight; check every block."""
        a = self.args
        h = self.conns[0].h
        out = bytearray()
        chunk = 1 << 20
        nbad = 0
        for off in range(0, a.size, chunk):
            n = min(chunk, a.size - off)
            for attempt in range(5):
                try:
                    data = h.pread(n, off)
                    break
                except nbd.Error:
                    # a leftover injected error (--inject) fails one request
                    if not a.inject or attempt == 4:
                        raise
            out += data
            for i in range(n // BLK):
                b = off // BLK + i
                cands = self.model.live[b]
                blk = data[i * BLK:(i + 1) * BLK]
                if not self.model.check_block(b, blk, cands, False):
                    nbad += 1
                    if nbad <= 8:
                        self.fail("final read: guest block %d (offset %s) holds "
                                  "%s; allowed: %s" % (
                                      b, human(b * BLK), self.model.decode(bytes(blk)),
                                      self.model.describe_cands(cands)))
        if nbad > 8:
            self.fail("final read: ... %d bad blocks in all" % nbad)
        return bytes(out)

    def img_check(self, build, img):
        p = subprocess.run([os.path.join(build, "qemu-img"), "check",
                            "--output=json", img], capture_output=True, text=True)
        try:
            j = json.loads(p.stdout)
        except ValueError:
            self.fail("qemu-img check failed (exit %d): %s" % (
                p.returncode, (p.stdout + p.stderr).strip()[-2000:]))
            return
        bad = {k: j.get(k, 0) for k in ("corruptions", "leaks", "check-errors",
                                          "corruptions-fixed", "leaks-fixed")}
        if p.returncode != 0 or any(bad.values()):
            human_out = subprocess.run([os.path.join(build, "qemu-img"), "check",
                                        img], capture_output=True, text=True)
            self.fail("qemu-img check: exit %d %s\n%s" % (
                p.returncode, json.dumps(bad),
                "\n".join((human_out.stdout + human_out.stderr).splitlines()[:40])))

    def disk_compare(self, build, img, workdir, expect):
        raw = os.path.join(workdir, "final.raw")
        p = subprocess.run([os.path.join(build, "qemu-img"), "convert", "-f",
                            "qcow2", "-O", "raw", img, raw],
                           capture_output=True, text=True)
        if p.returncode != 0:
            self.fail("qemu-img convert failed: %s" % (p.stdout + p.stderr).strip())
            return
        with open(raw, "rb") as f:
            got = f.read()
        os.unlink(raw)
        if got != expect:
            diff = [i for i in range(0, len(expect), BLK)
                    if got[i:i + BLK] != expect[i:i + BLK]]
            self.fail("the image read by qemu-img after close differs from the "
                      "final NBD read in %d blocks, first at offset %s: %s" % (
                          len(diff), human(diff[0]),
                          self.model.decode(got[diff[0]:diff[0] + BLK])))

    def main(self):
        a = self.args
        build = a.build_dir
        workdir = tempfile.mkdtemp(prefix="qcow2-stress.", dir=a.tmpdir)
        img = os.path.join(workdir, "test.qcow2")
        daemon = None
        keep = False
        try:
            opts = "cluster_size=%d" % a.cluster
            if a.extended_l2:
                opts += ",extended_l2=on"
            if a.lazy_refcounts:
                opts += ",lazy_refcounts=on"
            subprocess.run([os.path.join(build, "qemu-img"), "create", "-q",
                            "-f", "qcow2", "-o", opts, img, str(a.size)],
                           check=True)
            daemon = Daemon(a, build, workdir, img)
            self.daemon = daemon
            self.conns = []
            for i in range(a.conns):
                # --inject: QEMU's NBD server drops the connection when a
                # read fails within a structured (sparse) reply, on both
                # builds; simple replies carry the error to the request
                self.conns.append(Conn(len(self.conns), daemon.uri("plain"),
                                       "plain", a.depth, not a.inject))
            if "cwrite" not in a.skip:
                for i in range(a.cconns):
                    self.conns.append(Conn(len(self.conns), daemon.uri("comp"),
                                           "comp", a.cdepth, not a.inject))
            if a.inject:
                self.ctl = len(self.conns)
                self.conns.append(Conn(self.ctl, daemon.uri("plain"), "ctl", 1))
                self.ctl_plan = [t for w in a.plan for t in w[:2]]
                self.ctl_next = 0
                self.ctl_busy = False
            self.model = Model(a.size // BLK, a.seed & 0xffff, history=a.crash)
            self.t0 = time.monotonic()
            try:
                self.workload()
                if a.inject:
                    self.nwild = self.rewrite_wild()
            except nbd.Error as e:
                self.fail("NBD error: %s (daemon: %s)" % (e, daemon.tail(5)))
            io_time = time.monotonic() - self.t0
            if a.crash and self.killed:
                for c in self.conns:
                    try:
                        c.h.close()
                    except Exception:  # pylint: disable=broad-except
                        pass
                self.conns = []
                self.crash_checks(img, workdir)
                keep = bool(self.failures) and not a.no_keep
                self.report(io_time, workdir if keep else None)
                if keep:
                    self.save(workdir)
                return 1 if self.failures else 0
            try:
                final = self.final_read()
            except nbd.Error as e:
                final = None
                self.fail("final read: NBD error: %s" % e)
            for c in self.conns:
                try:
                    c.h.shutdown()
                except nbd.Error:
                    pass
            self.conns = []
            rc = daemon.stop()
            if rc != 0:
                self.fail("qemu-storage-daemon exit status %s:\n%s" % (
                    rc, daemon.tail()))
            elif "corrupt" in daemon.tail(200).lower():
                self.fail("qemu-storage-daemon reported:\n%s" % daemon.tail())
            if a.inject:
                # injected errors may leak clusters (documented); they must
                # not corrupt the image nor mark it corrupt
                _, corrupt = self.image_flags(img)
                if corrupt:
                    self.fail("the image is marked corrupt after injected errors")
                self.inject_leaks = self.check_consistent(img, "after injected "
                                                          "errors", True)
            else:
                self.img_check(build, img)
            if final is not None:
                self.disk_compare(build, img, workdir, final)
            keep = bool(self.failures) and not a.no_keep
            self.report(io_time, workdir if keep else None)
            if keep:
                self.save(workdir)
            return 1 if self.failures else 0
        except Fail as e:
            self.fail(str(e))
            keep = not a.no_keep
            if keep:
                self.save(workdir)
            self.report(time.monotonic() - getattr(self, "t0", time.monotonic()),
                        workdir if keep else None)
            return 1
        finally:
            for c in getattr(self, "conns", []):
                try:
                    c.h.close()
                except Exception:
                    pass
            if daemon is not None:
                daemon.kill()
            if not keep:
                shutil.rmtree(workdir, ignore_errors=True)

    def save(self, workdir):
        with open(os.path.join(workdir, "failures.txt"), "w") as f:
            f.write("replay: %s\n\n" % self.replay_cmd())
            for m in self.failures:
                f.write(m + "\n")
        if self.oplog:
            with open(os.path.join(workdir, "ops.log"), "w") as f:
                for op in self.oplog:
                    f.write(op.describe() + (" ERR %d" % op.err if op.err else "")
                            + "\n")

    def replay_cmd(self):
        a = self.args
        cmd = [sys.argv[0], "--build", a.build, "--seed", str(a.seed),
               "--duration", str(a.duration), "--cluster-size", human(a.cluster),
               "--size", human(a.size)]
        if a.extended_l2:
            cmd.append("--extended-l2")
        if a.lazy_refcounts:
            cmd.append("--lazy-refcounts")
        for k, v in (("--conns", a.conns), ("--depth", a.depth),
                     ("--cconns", a.cconns), ("--cdepth", a.cdepth),
                     ("--iops", a.iops)):
            cmd += [k, str(v)]
        if a.ops:
            cmd += ["--ops", str(a.ops)]
        if a.skip:
            cmd += ["--skip", ",".join(sorted(a.skip))]
        if a.l2_cache:
            cmd += ["--l2-cache", a.l2_cache]
        if a.no_compressed_overlap:
            cmd.append("--no-compressed-overlap")
        if a.compressed_heavy:
            cmd.append("--compressed-heavy")
        if a.crash:
            cmd.append("--crash")
        if a.crash_strict:
            cmd.append("--crash-strict")
        if a.inject:
            cmd += ["--inject", "--inject-windows", str(a.inject_windows)]
        return " ".join(cmd)

    def report(self, io_time, kept):
        a = self.args
        counts = " ".join("%s=%d" % (k, self.counts[k]) for k in sorted(self.counts))
        if a.crash and self.killed:
            st = getattr(self, "crash_stats", {})
            counts += "; killed after %.2f s with %d in flight; %d flushes " \
                "done; %s of %d blocks exact; dirty=%s; leaks repaired=%s; " \
                "reused-cluster exposures=%s" % (
                    self.kill_time, self.kill_inflight,
                    self.counts.get("flush", 0), st.get("durable", "-"),
                    self.model.nblocks, st.get("dirty", "-"), st.get("leaks", "-"),
                    st.get("reuse", "-"))
        if a.inject:
            nwin, hit = self.inject_summary()
            counts += "; injection windows %d (%s), %d with failed requests; " \
                "failed requests: %s; clusters rewritten after failed " \
                "compressed writes: %s; leaks repaired=%s" % (
                    nwin, ",".join("%s/%s/x%d%s" % (w[2], errno.errorcode[w[3]],
                                                    w[4], "/" + w[5] if w[5] else "")
                                   for w in a.plan),
                    hit, " ".join("%s=%d" % (errno.errorcode[k], v)
                                  for k, v in sorted(self.errs.items())) or "none",
                    getattr(self, "nwild", "-"), getattr(self, "inject_leaks", "-"))
        if self.cwrite_refused:
            counts += "; compressed writes refused (cluster allocated by an " \
                "overlapping write): %d" % self.cwrite_refused
        if self.failures:
            print("FAIL seed=%d variant=%s build=%s: %d problem(s); first after "
                  "%.2f s of I/O (%d requests completed); %d requests in %.1f s (%s)"
                  % (a.seed, a.variant, a.build, len(self.failures),
                     self.first_fail_time, self.first_fail_op, self.ops_done,
                     io_time, counts), flush=True)
            print("replay: " + self.replay_cmd(), flush=True)
            if kept:
                print("kept: " + kept, flush=True)
        else:
            print("PASS seed=%d variant=%s build=%s: %d requests in %.1f s (%s)" % (
                a.seed, a.variant, a.build, self.ops_done, io_time, counts),
                flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default="patched",
                    help="stock, patched, or a path to a QEMU build directory")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--duration", type=float, default=20,
                    help="seconds of random I/O (default 20)")
    ap.add_argument("--ops", type=int, default=0,
                    help="stop after this many requests (0: no limit)")
    ap.add_argument("--cluster-size", default="64K", help="64K (default) or 4K, ...")
    ap.add_argument("--size", default=None,
                    help="image size (default: 128 clusters)")
    ap.add_argument("--extended-l2", action="store_true")
    ap.add_argument("--lazy-refcounts", action="store_true")
    ap.add_argument("--conns", type=int, default=6, help="plain NBD connections")
    ap.add_argument("--depth", type=int, default=8,
                    help="requests in flight per plain connection (max 16)")
    ap.add_argument("--cconns", type=int, default=None,
                    help="connections to the compress filter export (default 2)")
    ap.add_argument("--cdepth", type=int, default=4)
    ap.add_argument("--iops", type=int, default=3000,
                    help="throttle limit on the qcow2 file (0: no throttle node)")
    ap.add_argument("--aio", default=None, help="aio= of the file node")
    ap.add_argument("--l2-cache", default=None, help="l2-cache-size of qcow2")
    ap.add_argument("--skip", default="",
                    help="comma separated request kinds not to send: "
                    + ",".join(k for k, _ in KIND_WEIGHTS))
    ap.add_argument("--no-compressed-overlap", action="store_true",
                    help="hold back requests that overlap an in-flight "
                    "compressed write on the same cluster (other than trims "
                    "and whole-cluster zero writes): the base links the L2 "
                    "entry of a compressed write before its data, so it "
                    "does not handle them (stock; the series fixes it)")
    ap.add_argument("--compressed-heavy", action="store_true",
                    help="a third of the requests are compressed writes, on "
                    "4 compress connections (unless --cconns is given)")
    ap.add_argument("--compressed-cache", action="store_true",
                    help="compressed-write-cache=on (patched build with the "
                    "compressed write cache only), bounded to 2 clusters")
    ap.add_argument("--crash", action="store_true",
                    help="kill -9 the daemon at a random time (seeded) before "
                    "--duration, then check the image: it opens, qemu-img "
                    "check finds no corruption (leaks are repaired with -r "
                    "leaks), every block written and flushed holds its data")
    ap.add_argument("--crash-strict", action="store_true",
                    help="with --crash, fail on a block that holds another "
                    "block's data from a host cluster freed by an unflushed "
                    "trim or zero write and reused (known, both builds; "
                    "reported as KNOWN otherwise)")
    ap.add_argument("--inject", action="store_true",
                    help="blkdebug error injection (EIO, ENOSPC) in windows "
                    "opened during the I/O: failed requests are allowed, the "
                    "daemon must quit cleanly and the image stay consistent")
    ap.add_argument("--inject-windows", type=int, default=4,
                    help="error injection windows per run (default 4)")
    ap.add_argument("--keep-going", action="store_true",
                    help="do not stop the random I/O at the first problem")
    ap.add_argument("--log-ops", action="store_true",
                    help="keep every request, written to ops.log on failure")
    ap.add_argument("--no-keep", action="store_true",
                    help="remove the work directory even on failure")
    ap.add_argument("--tmpdir", default=None)
    ap.add_argument("--trace", action="append", default=[],
                    help="trace event pattern for qemu-storage-daemon")
    ap.add_argument("-v", "--verbose", action="store_true")
    a = ap.parse_args()

    if a.build in ("stock", "patched"):
        a.build_dir = os.path.join(TOP, "build", a.build)
    else:
        a.build_dir = os.path.abspath(a.build)
    if not os.access(os.path.join(a.build_dir, "storage-daemon",
                                  "qemu-storage-daemon"), os.X_OK):
        ap.error("no qemu-storage-daemon in %s" % a.build_dir)
    a.cluster = parse_size(a.cluster_size)
    if a.cluster < BLK or a.cluster & (a.cluster - 1):
        ap.error("cluster size must be a power of two >= 4K")
    if a.extended_l2 and a.cluster < 16384:
        ap.error("extended_l2 needs clusters of at least 16K")
    a.size = parse_size(a.size) if a.size else 128 * a.cluster
    if a.size % a.cluster or a.size < 4 * a.cluster:
        ap.error("size must be a multiple of the cluster size, >= 4 clusters")
    if not 1 <= a.depth <= 16 or not 1 <= a.cdepth <= 16:
        ap.error("depth must be 1..16 (the server's limit per connection)")
    if a.cconns is None:
        a.cconns = 4 if a.compressed_heavy else 2
    if a.crash and a.inject:
        ap.error("--crash and --inject do not go together")
    a.skip = {k for k in a.skip.split(",") if k}
    a.weights = list(COMPRESSED_HEAVY_WEIGHTS if a.compressed_heavy
                     else KIND_WEIGHTS)
    if a.crash:
        # more flushes, so that more writes must survive the kill
        a.weights = [(k, 6 if k == "flush" else w) for k, w in a.weights]
    if a.inject:
        # flushes switch blkdebug's state: only the control connection
        # sends them
        a.skip.add("flush")
    unknown = a.skip - {k for k, _ in KIND_WEIGHTS}
    if unknown:
        ap.error("unknown kinds: %s" % ",".join(unknown))
    if a.conns < 1 and a.skip >= {"write", "read", "trim", "zero", "zero_nohole", "flush"}:
        ap.error("nothing to do")
    if a.conns < 1:
        ap.error("--conns must be >= 1")
    if "cwrite" not in a.skip and a.cconns < 1:
        a.skip.add("cwrite")
    if a.seed is None:
        a.seed = int.from_bytes(os.urandom(4), "little")
    a.variant = "%s%s%s%s%s" % (human(a.cluster), "+extended_l2" if a.extended_l2 else "",
                                "+lazy_refcounts" if a.lazy_refcounts else "",
                                "+compressed_heavy" if a.compressed_heavy else "",
                                "+compressed_cache" if a.compressed_cache else "")
    if a.inject:
        if a.inject_windows < 1:
            ap.error("--inject-windows must be >= 1")
        a.plan = inject_plan(a.seed, a.duration, a.inject_windows)
    print("seed=%d build=%s variant=%s size=%s duration=%gs conns=%dx%d+%dx%d "
          "iops=%d%s%s" % (a.seed, a.build, a.variant, human(a.size), a.duration,
                           a.conns, a.depth, a.cconns if "cwrite" not in a.skip else 0,
                           a.cdepth, a.iops,
                           " skip=" + ",".join(sorted(a.skip)) if a.skip else "",
                           " mode=crash" if a.crash else
                           " mode=inject" if a.inject else ""),
          flush=True)

    def on_term(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGHUP, on_term)
    try:
        return Run(a).main()
    except KeyboardInterrupt:
        print("interrupted", flush=True)
        return 130


if __name__ == "__main__":
    sys.exit(main())
