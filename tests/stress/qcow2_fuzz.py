#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Run QEMU's image fuzzer (tests/image-fuzzer) against qemu-io builds.

For every seed and every build, tests/image-fuzzer/runner.py generates a
fuzzed qcow2 image (the same image and the same $off/$len for the same
seed, whatever the build; the runner gives it a backing file) and runs a
fixed list of commands on a copy of it: qemu-io sequences of aio_write
(normal, compressed, zero with unmap), aio_read, discard and aio_flush, so
that requests overlap in flight; qemu-img info, check, check -r all, map,
convert, rebase (safe mode, which asks for block status), amend,
snapshot -c and commit (into the backing file); and a qemu-nbd export of
the image (unix socket in the test directory) queried for block status
(qemu-img map over NBD) and read.  Every tool runs under a wrapper that
disables core dumps and turns a run that does not exit within --timeout
seconds into a hang; for the NBD command, the wrapper reports a qemu-nbd
that died by a signal as that signal, and one that does not exit on
SIGTERM as a hang.

Reported per build: images fuzzed, commands run, commands that died by a
signal (abort, assertion failure, segfault...), hangs, and the commands in
which qcow2 reported corruption through its corruption handling
("Marking image as corrupt", or refusing a read-write open of an image
marked corrupt).  A failure that happens on stock as well is a pre-existing
upstream issue; one only on the patched build is a regression.

Exit status: 0 if the patched build (the last --build) has no abort,
assertion failure, signal or hang that stock does not have too; 1 otherwise;
2 usage or setup error.
"""

import argparse
import concurrent.futures
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PY = "/usr/bin/python3"

# The commands: JSON for runner.py -c.  Every command runs on a fresh copy
# of the fuzzed image; $off and $len are random (seeded), sector aligned.
COMMANDS = [
    ["qemu-io", "-f", "qcow2", "$test_img",
     "-c", "aio_write -P 0x11 $off $len",
     "-c", "aio_read $off $len",
     "-c", "discard $off $len",
     "-c", "aio_write -z -u $off $len",
     "-c", "aio_read $off $len",
     "-c", "aio_write -P 0x12 $off $len",
     "-c", "aio_flush",
     "-c", "read $off $len"],
    ["qemu-io", "-f", "qcow2", "$test_img",
     "-c", "aio_write -c -P 0x21 0 64k",
     "-c", "aio_read 0 128k",
     "-c", "discard 0 64k",
     "-c", "aio_write -P 0x22 32k 64k",
     "-c", "aio_write -c -P 0x23 64k 64k",
     "-c", "aio_write -z -u 0 128k",
     "-c", "aio_read 0 128k",
     "-c", "aio_flush",
     "-c", "read 0 128k"],
    ["qemu-io", "-f", "qcow2", "$test_img",
     "-c", "aio_write -c -P 0x31 $off $len",
     "-c", "aio_read $off $len",
     "-c", "aio_write -P 0x32 0 4k",
     "-c", "discard $off $len",
     "-c", "aio_write -c -P 0x33 $off $len",
     "-c", "aio_write -z $off $len",
     "-c", "aio_flush",
     "-c", "read $off $len"],
    ["qemu-img", "check", "-f", "qcow2", "$test_img"],
    ["qemu-img", "info", "-f", "qcow2", "$test_img"],
    ["qemu-img", "check", "-r", "all", "-f", "qcow2", "$test_img"],
    ["qemu-img", "map", "-f", "qcow2", "--output=json", "$test_img"],
    ["qemu-img", "convert", "-f", "qcow2", "-O", "qcow2", "$test_img",
     "converted.qcow2"],
    ["qemu-img", "rebase", "-f", "qcow2", "-b", "", "$test_img"],
    ["qemu-img", "amend", "-f", "qcow2", "-o", "compat=0.10", "$test_img"],
    ["qemu-img", "snapshot", "-c", "fuzz", "$test_img"],
    # Not a qemu-img command: the wrapper exports $test_img with qemu-nbd
    ["qemu-img", "fuzz-nbd", "$test_img"],
    # Last: it writes into the backing file that all commands share
    ["qemu-img", "commit", "-f", "qcow2", "$test_img"],
]

# Fuzzer configurations (runner.py --config): None fuzzes a random part of
# every field, the header included, so that most images do not even open;
# "tables" keeps the header valid and fuzzes a random part of the L1, L2
# and refcount table entries, which the I/O paths then follow.
CONFIGS = [
    ("all", None),
    ("tables", [["l1_table"], ["l2_tables"], ["refcount_table"],
                ["refcount_blocks"]]),
]

WRAPPER = r'''#!/usr/bin/python3
# Tool wrapper for the image fuzzer: no core dumps, and a hang (no exit
# within the timeout) is reported as death by SIGALRM, which the tools do
# not use; a child that died by a signal is reported with that signal.
# "qemu-img fuzz-nbd IMAGE": export IMAGE with the qemu-nbd next to
# qemu-img on a unix socket, ask for its block status (qemu-img map) and
# read it (qemu-io), then stop qemu-nbd; qemu-nbd's own death by a signal
# or hang is what is reported.
import os, resource, signal, subprocess, sys, time
resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
real, timeout = sys.argv[1], float(sys.argv[2])
args = sys.argv[3:]


def die(rc):
    sys.stdout.flush()
    sys.stderr.flush()
    if rc < 0:
        signal.signal(-rc, signal.SIG_DFL)
        os.kill(os.getpid(), -rc)
    sys.exit(rc)


def hang(what):
    sys.stderr.write("FUZZ-HANG: %s: no exit within %g s\n" % (what, timeout))
    die(-signal.SIGALRM)


def run(cmd, what):
    p = subprocess.Popen(cmd)
    try:
        return p.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        hang(what)


if args[:1] != ["fuzz-nbd"]:
    die(run([real] + args, os.path.basename(real)))

bindir = os.path.dirname(real)
sock = os.path.abspath("fuzz-nbd.sock")
if os.path.exists(sock):
    os.unlink(sock)
nbd = subprocess.Popen([os.path.join(bindir, "qemu-nbd"), "-f", "qcow2",
                        "-t", "-k", sock, args[1]])
deadline = time.monotonic() + timeout
while not os.path.exists(sock) and nbd.poll() is None:
    if time.monotonic() > deadline:
        nbd.kill()
        nbd.wait()
        hang("qemu-nbd start")
    time.sleep(0.02)
if nbd.poll() is not None:
    # qemu-nbd could not open the image (or died doing so)
    die(nbd.returncode)
uri = "nbd+unix:///?socket=" + sock
run([real, "map", "-f", "raw", "--output=json", uri], "qemu-img map (nbd)")
run([os.path.join(bindir, "qemu-io"), "-f", "raw", "-c", "read 0 64k",
     "-c", "read -v 0 512", uri], "qemu-io (nbd)")
if nbd.poll() is not None:
    sys.stderr.write("FUZZ-NBD: qemu-nbd exited with %d\n" % nbd.returncode)
    die(nbd.returncode if nbd.returncode < 0 else 1)
nbd.terminate()
try:
    nbd.wait(timeout=timeout)
except subprocess.TimeoutExpired:
    nbd.kill()
    nbd.wait()
    hang("qemu-nbd (SIGTERM)")
die(0 if nbd.returncode in (0, -signal.SIGTERM) else nbd.returncode)
'''

# runner.py and its qcow2 generator predate Python 3.11, whose
# random.sample() no longer takes a set (TypeError in
# layout.py:_get_available_clusters()).  Run them unchanged, with sets
# sorted first: deterministic for a seed, the same for every build.
SHIM = r'''#!/usr/bin/python3
import random, runpy, sys
_sample = random.sample
def sample(population, k, **kw):
    if isinstance(population, (set, frozenset)):
        population = sorted(population)
    return _sample(population, k, **kw)
random.sample = sample
runner = sys.argv[1]
sys.argv = sys.argv[1:]
sys.path.insert(0, __import__("os").path.dirname(runner))
runpy.run_path(runner, run_name="__main__")
'''

SUMMARY = re.compile(
    r"Seed: (?P<seed>\S+)\nCommand: (?P<cmd>.*)\nTest directory: .*\n"
    r"Backing file: .*\n(?:PASS: Application exited with the code '(?P<rc>-?\d+)'"
    r"|FAIL: Test terminated by signal (?P<sig>\w+))\n")


def parse_log(text):
    """[(command, rc or None, signal or None, output)] from a runner test.log
    written with -v (the output of each command precedes its summary)."""
    out, pos = [], 0
    for m in SUMMARY.finditer(text):
        out.append((m.group("cmd"), int(m.group("rc")) if m.group("rc") else None,
                    m.group("sig"), text[pos:m.start()]))
        pos = m.end()
    return out


def classify(rc, sig, output):
    """The problems of one command: a list of strings (empty: fine)."""
    probs = []
    if sig == "SIGALRM" or "FUZZ-HANG" in output:
        probs.append("hang")
    elif sig:
        probs.append("signal " + sig)
    if "Assertion" in output or "assertion failed" in output.lower():
        probs.append("assertion failure")
    if "Segmentation fault" in output or "Aborted" in output and not sig:
        probs.append("crash message")
    return probs


def corrupt_reported(output):
    return ("Marking image as corrupt" in output or
            "Image is corrupt" in output)


def run_build(name, build, seeds, workdir, timeout, wrapper, shim, fuzzer,
              jobs=1, jsonl=None):
    qemu_io = os.path.join(build, "qemu-io")
    qemu_img = os.path.join(build, "qemu-img")
    env = dict(os.environ)
    env["QEMU_IO"] = "%s %s %s %g" % (PY, wrapper, qemu_io, timeout)
    env["QEMU_IMG"] = "%s %s %s %g" % (PY, wrapper, qemu_img, timeout)
    res = {}
    lock = threading.Lock()

    def one(seed, cname, config):
        d = os.path.join(workdir, name, "%s-%d" % (cname, seed))
        os.makedirs(d)
        cmd = [PY, shim, os.path.join(fuzzer, "runner.py"), "-k", "-v",
               "-s", str(seed), "-c", json.dumps(COMMANDS)]
        if config is not None:
            cmd += ["--config", json.dumps(config)]
        p = subprocess.run(cmd + [d, os.path.join(fuzzer, "qcow2")],
                           capture_output=True, text=True, env=env,
                           timeout=timeout * (len(COMMANDS) + 2) + 120)
        seed = "%s-%d" % (cname, seed)
        res[seed] = r = {}
        log = os.path.join(d, "test-1", "test.log")
        try:
            with open(log, errors="replace") as f:
                text = f.read()
        except OSError:
            text = ""
        cmds = parse_log(text)
        r.update({
            "runner_rc": p.returncode,
            "image": os.path.exists(os.path.join(d, "test-1", "test.img")),
            "opened": sum(1 for c, rc, sig, o in cmds if "can't open" not in o
                          and "Could not open" not in o),
            "cmds": [(c, rc, sig, classify(rc, sig, o), corrupt_reported(o),
                      o[-600:]) for c, rc, sig, o in cmds],
        })
        if p.returncode != 0 and not cmds:
            r["error"] = (p.stdout + p.stderr)[-600:]
        elif not any(c[3] for c in r["cmds"]):
            shutil.rmtree(d, ignore_errors=True)
        if jsonl:
            # One line per image as it finishes, so that a long run that is
            # stopped still has a record of every image it did
            with lock, open(jsonl, "a") as f:
                f.write(json.dumps({"build": name, "seed": seed,
                                    "result": r}) + "\n")

    # Seeds in parallel (each image is its own runner.py process)
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as ex:
        for f in [ex.submit(one, s, cname, config)
                  for s in seeds for cname, config in CONFIGS]:
            f.result()
    return dict(sorted(res.items(), key=lambda kv: (
        kv[0].split("-")[0], int(kv[0].split("-")[1]))))


def command_name(cmd):
    """A short name of a runner command line: qemu-io N, qemu-img SUB, nbd."""
    words = cmd.split()
    for i, w in enumerate(words):
        if w.endswith("/qemu-io"):
            return "qemu-io"
        if w.endswith("/qemu-img"):
            sub = words[i + 2] if i + 2 < len(words) else "?"
            if sub == "check" and "-r" in words:
                return "qemu-img check -r all"
            return "qemu-nbd" if sub == "fuzz-nbd" else "qemu-img " + sub
    return "?"


def report(paths):
    """Summarize --jsonl files: per build, the images, and per command the
    runs, the runs that opened the image, and the crashes and hangs, with
    the assertion messages seen."""
    builds = {}
    for path in paths:
        with open(path) as f:
            for line in f:
                d = json.loads(line)
                builds.setdefault(d["build"], {})[d["seed"]] = d["result"]
    for name, res in builds.items():
        seeds = sorted({int(k.split("-")[1]) for k in res})
        configs = sorted({k.split("-")[0] for k in res})
        print("%s: %d images (seeds %d-%d, %d distinct; configs %s)" % (
            name, len(res), seeds[0], seeds[-1], len(seeds), ",".join(configs)))
        rows = {}
        asserts = {}
        for seed, r in res.items():
            for c, rc, sig, probs, cor, out in r.get("cmds", []):
                row = rows.setdefault(command_name(c), [0, 0, 0, 0, 0, 0])
                row[0] += 1
                row[1] += ("can't open" not in out and
                           "Could not open" not in out)
                row[2] += cor
                hang = "hang" in probs
                row[3] += hang
                row[4] += bool(sig) and not hang
                row[5] += "assertion failure" in probs
                m = re.search(r"Assertion `([^']*)' failed", out)
                if m:
                    asserts.setdefault(m.group(1), set()).add(seed)
        print("| command | runs | opened | corruption reported | "
              "died by a signal | of them assertion failures | hangs |")
        print("|---|---|---|---|---|---|---|")
        for k in sorted(rows):
            v = rows[k]
            print("| %s | %d | %d | %d | %d | %d | %d |" % (
                k, v[0], v[1], v[2], v[4], v[5], v[3]))
        for a, ss in sorted(asserts.items()):
            print("  assertion `%s`: %d images (%s)" % (
                a, len(ss), ", ".join(sorted(ss)[:8])))


def main():
    if sys.argv[1:2] == ["--report"]:
        report(sys.argv[2:])
        return 0
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", action="append", default=[],
                    help="NAME=DIR (a build directory with qemu-io and "
                    "qemu-img); give stock first, then patched")
    ap.add_argument("--seeds", default="1-100",
                    help="fixed seeds: A-B or a comma separated list")
    ap.add_argument("--timeout", type=float, default=30,
                    help="seconds after which a qemu-io run is a hang")
    ap.add_argument("--keep", action="store_true",
                    help="keep the work directory")
    ap.add_argument("--json", default=None, help="write the results there")
    ap.add_argument("--jsonl", default=None,
                    help="append one JSON line per image as it finishes")
    ap.add_argument("--jobs", type=int, default=1,
                    help="images fuzzed in parallel")
    ap.add_argument("--strict", action="store_true",
                    help="exit 1 if the last build has any abort, assertion "
                    "failure, signal or hang, even one that stock has too")
    a = ap.parse_args()
    builds = []
    for b in a.build or ["stock=%s/build/stock" % TOP,
                         "patched=%s/build/patched" % TOP]:
        if "=" not in b:
            ap.error("--build NAME=DIR")
        n, d = b.split("=", 1)
        if not os.access(os.path.join(d, "qemu-io"), os.X_OK):
            ap.error("no qemu-io in %s" % d)
        builds.append((n, os.path.abspath(d)))
    seeds = []
    for part in a.seeds.split(","):
        if "-" in part:
            lo, hi = part.split("-")
            seeds += list(range(int(lo), int(hi) + 1))
        elif part:
            seeds.append(int(part))
    fuzzer = os.path.join(TOP, "build", "qemu", "tests", "image-fuzzer")
    if not os.path.exists(os.path.join(fuzzer, "runner.py")):
        ap.error("no %s/runner.py" % fuzzer)

    workdir = tempfile.mkdtemp(prefix="qcow2-fuzz.")
    wrapper = os.path.join(workdir, "qemu-io-wrapper.py")
    with open(wrapper, "w") as f:
        f.write(WRAPPER)
    shim = os.path.join(workdir, "runner-shim.py")
    with open(shim, "w") as f:
        f.write(SHIM)
    t0 = time.monotonic()
    results = {}
    try:
        for n, d in builds:
            t = time.monotonic()
            results[n] = run_build(n, d, seeds, workdir, a.timeout, wrapper,
                                   shim, fuzzer, a.jobs, a.jsonl)
            print("%s: %d seeds in %.0f s" % (n, len(seeds), time.monotonic() - t),
                  flush=True)
    finally:
        if not a.keep:
            shutil.rmtree(workdir, ignore_errors=True)

    print("seeds %s x configs %s, %d commands per image, timeout %g s, "
          "%.0f s in all" % (a.seeds, ",".join(c for c, _ in CONFIGS),
                             len(COMMANDS), a.timeout, time.monotonic() - t0))
    bad = {}
    for n, _ in builds:
        r = results[n]
        images = sum(1 for s in r.values() if s["image"])
        opened = sum(s.get("opened", 0) for s in r.values())
        ncmd = sum(len(s["cmds"]) for s in r.values())
        probs = {}
        corrupt = 0
        bad[n] = set()
        for seed, s in r.items():
            if "error" in s:
                probs.setdefault("runner error", []).append(seed)
            for i, (c, rc, sig, pr, cor, _) in enumerate(s["cmds"]):
                corrupt += cor
                for p in pr:
                    probs.setdefault(p, []).append(seed)
                    bad[n].add((seed, i, p))
        print("%s: images fuzzed %d, commands %d (%d of them opened the image), "
              "corruption reported by qcow2 in %d, problems: %s" % (
                  n, images, ncmd, opened, corrupt,
                  "; ".join("%s: %d (seeds %s)" % (k, len(v), ",".join(
                      sorted(set(v))[:20])) for k, v in
                      sorted(probs.items())) or "none"))
    rc = 0
    if len(builds) >= 2:
        base, last = builds[0][0], builds[-1][0]
        new = bad[last] - bad[base]
        both = bad[last] & bad[base]
        gone = bad[base] - bad[last]
        print("%s vs %s: %d problems on both (pre-existing upstream), %d only on "
              "%s, %d only on %s" % (base, last, len(both), len(new), last,
                                     len(gone), base))
        for seed, i, p in sorted(new):
            c = results[last][seed]["cmds"][i]
            print("  only on %s: seed %s command %d (%s): %s\n    %s" % (
                last, seed, i, c[0], p, c[5].strip().replace("\n", "\n    ")))
        for seed, i, p in sorted(gone):
            c = results[base][seed]["cmds"][i]
            print("  only on %s: seed %s command %d: %s\n    %s" % (
                base, seed, i, p, c[5].strip()[-300:].replace("\n", "\n    ")))
        for seed, i, p in sorted(both)[:10]:
            c = results[last][seed]["cmds"][i]
            print("  on both: seed %s command %d (%s): %s\n    %s" % (
                seed, i, c[0], p, c[5].strip()[-300:].replace("\n", "\n    ")))
        if new:
            rc = 1
    last = builds[-1][0]
    if a.strict and bad[last]:
        print("%s: %d problems (--strict):" % (last, len(bad[last])))
        for seed, i, p in sorted(bad[last])[:30]:
            c = results[last][seed]["cmds"][i]
            print("  %s: seed %s command %d (%s): %s\n    %s" % (
                last, seed, i, c[0], p, c[5].strip()[-300:].replace("\n", "\n    ")))
        rc = 1
    if a.json:
        with open(a.json, "w") as f:
            json.dump({n: {str(k): v for k, v in r.items()} for n, r in
                       results.items()}, f, indent=1)
    return rc


if __name__ == "__main__":
    sys.exit(main())
