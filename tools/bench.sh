#!/bin/bash
# Benchmark of the series: stock vs patched qcow2, on tmpfs.
#
#   tools/bench.sh                 # full run (1 warm-up pair + BENCH_PAIRS pairs)
#   BENCH_QUICK=1 tools/bench.sh   # smoke run: 1 warm-up + 2 pairs, small counts
#
# Environment: BENCH_PAIRS (measured pairs of the convert row, default 5;
# 2 in quick mode), BENCH_MIX_PAIRS (of the NBD mix rows, default 10; 2 in
# quick mode), BENCH_HOT_PAIRS (measured pairs of the
# qemu-img bench rows, default 40; 4 in quick mode), BENCH_PIN (the CPU
# that the qemu-img bench runs are pinned to with taskset, default 1;
# "none" for no pinning),
# BENCH_CACHE (where the convert source image is generated once, default
# $QS_CACHE/bench), BENCH_TMP (a tmpfs directory to work in, default
# /dev/shm), BENCH_OUT (default docs/benchmarks.md; the SVG goes next to
# it as benchmark-ratios.svg), BENCH_ROWS (a regex of row groups to run:
# bench, callgrind, mix, convert; default all).
#
# Wall-clock rows run stock and patched alternately, A B A B ..., a warm-up
# pair first, and report medians, min-max and the patched/stock ratio of
# every pair.  The callgrind rows run once per build (they count
# instructions, which does not depend on the machine's load).
#
# Nothing under build/ is modified: the builds are only run.
. "$(dirname "$0")/common.sh"

QUICK=${BENCH_QUICK:-0}
if [ "$QUICK" = 1 ]; then
    PAIRS=${BENCH_PAIRS:-2}
    HOT_PAIRS=${BENCH_HOT_PAIRS:-4}
    MIX_PAIRS=${BENCH_MIX_PAIRS:-2}
    MODE=quick
else
    PAIRS=${BENCH_PAIRS:-5}
    HOT_PAIRS=${BENCH_HOT_PAIRS:-40}
    MIX_PAIRS=${BENCH_MIX_PAIRS:-10}
    MODE=full
fi
[[ $PAIRS =~ ^[1-9][0-9]*$ ]] || die "BENCH_PAIRS must be a positive integer"
[[ $HOT_PAIRS =~ ^[1-9][0-9]*$ ]] || die "BENCH_HOT_PAIRS must be a positive integer"
[[ $MIX_PAIRS =~ ^[1-9][0-9]*$ ]] || die "BENCH_MIX_PAIRS must be a positive integer"
PIN=${BENCH_PIN:-1}
if [ "$PIN" = none ]; then
    PIN_CMD=()
else
    [[ $PIN =~ ^[0-9]+$ ]] || die "BENCH_PIN must be a CPU number or none"
    PIN_CMD=(taskset -c "$PIN")
fi
ROWS=${BENCH_ROWS:-bench|callgrind|mix|convert}
OUT=${BENCH_OUT:-$TOP/docs/benchmarks.md}
SVG=$(dirname "$OUT")/benchmark-ratios.svg
BENCH_CACHE=${BENCH_CACHE:-$QS_CACHE/bench}
TMPBASE=${BENCH_TMP:-/dev/shm}

IMG_STOCK=$STOCK/qemu-img
IMG_PATCHED=$PATCHED/qemu-img
for b in "$STOCK" "$PATCHED"; do
    for t in qemu-img qemu-io storage-daemon/qemu-storage-daemon; do
        [ -x "$b/$t" ] || die "missing $b/$t: run make build"
    done
done
want() { [[ $1 =~ ^($ROWS)$ ]]; }
if want mix; then
    command -v fio >/dev/null || die "fio is missing (apt-get install fio)"
    fio --enghelp=nbd >/dev/null 2>&1 || die "this fio has no nbd ioengine"
    "$PY" -c 'import nbd' 2>/dev/null || die "python3-libnbd is missing"
fi
if want callgrind; then
    command -v valgrind >/dev/null || die "valgrind is missing (apt-get install valgrind)"
fi

# The qemu-img bench rows run pinned to one CPU.  On this kind of machine (a
# VM with 2 vCPUs), a request at QD1 that hops between the main loop and a
# thread-pool worker on the other, idle vCPU waits for that vCPU to wake up
# in the hypervisor: unpinned, 4K QD1 rewrites ran at a quarter of the
# pinned rate, with a spread between runs of 20% and more, which is the
# host's noise, not qcow2's.  Many short runs (HOT_PAIRS) then give the
# median ratio a confidence interval narrow enough to read 1%.
#
# Sizes and counts.  The qemu-img bench rows use a stride that is a prime
# number of 4K blocks: k * stride mod (image size - 4K) visits every 4K
# block of the image once per period, in a scattered order (qemu-img bench
# has no random mode).
IMG_SIZE=1G
STRIDE=$((4096 * 100003))
if [ "$QUICK" = 1 ]; then
    C_QD1=10000; C_QD32=20000; C_SEQ=3000
    CG_N0=1000; CG_N1=3000
    MIX_RUNTIME=3
    CONV_MIB=256
else
    C_QD1=30000; C_QD32=60000; C_SEQ=10000
    CG_N0=1000; CG_N1=21000
    MIX_RUNTIME=5
    CONV_MIB=1024
fi

# --- temporary state, cleaned up on any exit ------------------------------
WORK=$(mktemp -d "$TMPBASE/qcow2-bench.XXXXXX")
# Background processes are started inside $(...) subshells: each records its
# pid in a file of its run directory, which the run removes once it has
# ended them itself, so that only live processes of ours are ever killed.
cleanup() {
    local f p
    for f in "$WORK"/run.*/pids; do
        [ -f "$f" ] || continue
        while read -r p; do
            kill "$p" 2>/dev/null || true
            # bounded: SIGKILL if it is still there after 5 s
            for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
            kill -9 "$p" 2>/dev/null || true
        done < "$f"
    done
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

RES=$WORK/results.tsv     # row  pair  impl  value
META=$WORK/rows.tsv       # row  label  unit  better  target  command
CG=$WORK/callgrind.tsv    # row  impl  Ir_per_op  qcow2_Ir_per_op  label  command
NOTES=$WORK/notes.txt
: > "$RES"; : > "$META"; : > "$CG"; : > "$NOTES"
note() { log "$*"; echo "$*" >> "$NOTES"; }

# row id, label, unit, better (higher|lower), target (hot|mix|control|none),
# command
row_meta() { printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >> "$META"; }

# With AA=1, the "patched" runs use the stock build too: an A/A control row
# whose ratios show how much two identical builds differ on this machine.
AA=0
impl_dir() {
    if [ "$1" = stock ] || [ "$AA" = 1 ]; then echo "$STOCK"; else echo "$PATCHED"; fi
}

# run_pairs ROW FUNC [N]: FUNC IMPL prints one number; a warm-up pair, then
# N pairs (default PAIRS)
run_pairs() {
    local row=$1 fn=$2 n=${3:-$PAIRS} i impl v
    for i in $(seq 0 "$n"); do
        for impl in stock patched; do
            v=$("$fn" "$impl") || die "$row: $impl run failed"
            [ -n "$v" ] || die "$row: $impl run gave no number"
            if [ "$i" = 0 ]; then
                log "$row warm-up $impl: $v"
            else
                log "$row pair $i $impl: $v"
                printf '%s\t%s\t%s\t%s\n' "$row" "$i" "$impl" "$v" >> "$RES"
            fi
        done
    done
}

log "mode $MODE, $HOT_PAIRS/$PAIRS measured pairs, pinned to CPU $PIN, work dir $WORK"
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
DATE_START=$(date -u '+%Y-%m-%d %H:%M UTC')

# --- the image of the qemu-img bench rows: every cluster allocated --------
# Written over its whole length, so that every guest write is a rewrite of
# an allocated cluster (no allocation, no COW: the in-flight reference is
# the only thing the series adds on that path) and every read hits data.
BASE=$WORK/base.qcow2
if want bench || want callgrind || want mix; then
    log "creating a fully allocated $IMG_SIZE qcow2 image"
    "$IMG_STOCK" create -q -f qcow2 "$BASE" "$IMG_SIZE"
    "$STOCK/qemu-io" -f qcow2 -c "write -P 0xa5 0 $IMG_SIZE" "$BASE" >/dev/null
    "$PY" - "$IMG_STOCK" "$BASE" <<'PYEOF' || die "the base image is not fully allocated"
import json, subprocess, sys
m = json.loads(subprocess.check_output([sys.argv[1], 'map', '--output=json', sys.argv[2]]))
sys.exit(0 if all(e['data'] and not e['zero'] for e in m) else 1)
PYEOF
fi

# --- a. qemu-img bench ----------------------------------------------------
AIOS=(threads)
if want bench; then
    if "$IMG_STOCK" bench -q -f qcow2 -t writeback -i io_uring -c 16 "$BASE" &&
       "$IMG_PATCHED" bench -q -f qcow2 -t writeback -i io_uring -c 16 "$BASE"; then
        AIOS+=(io_uring)
    else
        note "io_uring rows skipped: qemu-img bench -i io_uring does not run here"
    fi
fi

BENCH_ARGS=()
bench_once() { # impl -> ops/s
    local out t
    out=$("${PIN_CMD[@]}" "$(impl_dir "$1")/qemu-img" bench "${BENCH_ARGS[@]}" "$BASE") || return 1
    t=$(sed -n 's/^Run completed in \([0-9.]*\) seconds\.$/\1/p' <<<"$out")
    [ -n "$t" ] || return 1
    "$PY" -c "import sys; print('%.0f' % ($BENCH_COUNT / float(sys.argv[1])))" "$t"
}

bench_row() { # id label count args...
    local id=$1 label=$2 target=hot
    BENCH_COUNT=$3
    shift 3
    [ "$AA" = 1 ] && target=control
    BENCH_ARGS=(-f qcow2 -t writeback -c "$BENCH_COUNT" "$@")
    row_meta "$id" "$label" "ops/s" higher "$target" \
        "${PIN_CMD[*]}${PIN_CMD:+ }qemu-img bench ${BENCH_ARGS[*]} IMG"
    run_pairs "$id" bench_once "$HOT_PAIRS"
}

if want bench; then
    for aio in "${AIOS[@]}"; do
        bench_row "bench-$aio-randwrite-qd1" "4K scattered rewrite, QD1, aio=$aio" \
            "$C_QD1" -i "$aio" -d 1 -w -s 4K -S "$STRIDE"
        bench_row "bench-$aio-randwrite-qd32" "4K scattered rewrite, QD32, aio=$aio" \
            "$C_QD32" -i "$aio" -d 32 -w -s 4K -S "$STRIDE"
        bench_row "bench-$aio-randread-qd32" "4K scattered read, QD32, aio=$aio" \
            "$C_QD32" -i "$aio" -d 32 -s 4K -S "$STRIDE"
        bench_row "bench-$aio-seqwrite-64k" "64K sequential rewrite, QD1, aio=$aio" \
            "$C_SEQ" -i "$aio" -d 1 -w -s 64K
    done
    # The noise floor: the same row with stock in both places of each pair
    AA=1
    bench_row "bench-aa-randwrite-qd32" \
        "A/A control: 4K scattered rewrite, QD32, aio=threads, stock vs stock" \
        "$C_QD32" -i threads -d 32 -w -s 4K -S "$STRIDE"
    AA=0
fi

# --- b. callgrind: instructions per operation -----------------------------
# Marginal cost: (Ir(N1 ops) - Ir(N0 ops)) / (N1 - N0), so that start-up and
# exit (which differ between the builds: the patched one also has the
# system emulator's TCG configured) do not count.  aio=io_uring: with
# aio=threads qemu-img bench hangs under valgrind (valgrind serialises the
# thread pool's workers and the main loop never gets its completion).
cg_run() { # impl n args... -> prints "total qcow2"
    local impl=$1 n=$2 f
    shift 2
    f=$WORK/cg.$impl.$n.$RANDOM
    timeout -k 10 600 valgrind --tool=callgrind --callgrind-out-file="$f" \
        "$(impl_dir "$impl")/qemu-img" bench -q -f qcow2 -t writeback -c "$n" "$@" \
        "$BASE" >"$f.log" 2>&1 || { tail -n 5 "$f.log" >&2; return 1; }
    callgrind_annotate --auto=no --threshold=100 "$f" > "$f.txt"
    "$PY" - "$f.txt" <<'PYEOF'
import re, sys
total = qcow2 = 0
for line in open(sys.argv[1]):
    m = re.match(r'\s*([\d,]+)\s+\(\s*[\d.]+%\)\s+(\S+?):(\S+)', line)
    if not m:
        continue
    n = int(m.group(1).replace(',', ''))
    total += n
    if '/block/qcow2' in m.group(2):
        qcow2 += n
print(total, qcow2)
PYEOF
    cp "$f.txt" "$WORK/cg-$impl-$n-$CG_TAG.txt"
}

cg_row() { # id label args...
    local id=$1 label=$2 impl a b
    shift 2
    CG_TAG=$id
    for impl in stock patched; do
        log "$id: callgrind $impl ($CG_N0 and $CG_N1 ops)"
        read -r a0 q0 <<<"$(cg_run "$impl" "$CG_N0" "$@")"
        read -r a1 q1 <<<"$(cg_run "$impl" "$CG_N1" "$@")"
        [ -n "${q0:-}" ] && [ -n "${q1:-}" ] || die "$id: callgrind run failed"
        a=$(( (a1 - a0) / (CG_N1 - CG_N0) ))
        b=$(( (q1 - q0) / (CG_N1 - CG_N0) ))
        log "$id $impl: $a Ir/op ($b in block/qcow2*.c)"
        printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$id" "$impl" "$a" "$b" "$label" \
            "valgrind --tool=callgrind qemu-img bench -f qcow2 -t writeback -c {$CG_N0,$CG_N1} $* IMG" >> "$CG"
    done
}

if want callgrind; then
    cg_row cg-rewrite-qd1 "4K scattered rewrite, QD1, aio=io_uring" \
        -i io_uring -d 1 -w -s 4K -S "$STRIDE"
    cg_row cg-read-qd1 "4K scattered read, QD1, aio=io_uring" \
        -i io_uring -d 1 -s 4K -S "$STRIDE"
fi

# --- c. discard-heavy mix over NBD ----------------------------------------
# qemu-storage-daemon exports a copy of the base image on a unix socket.
# fio (nbd ioengine, one connection per job): job "writes" does 4K random
# rewrites in [0, 512M) (measured); job "trims" trims 64K (one cluster:
# qcow2 ignores discards smaller than a cluster) in [512M, 768M) while job
# "realloc" writes 64K there, so that the trims keep freeing clusters and
# the allocator keeps reusing them; a python-libnbd client writes and then
# zeroes (NBD_CMD_WRITE_ZEROES, unmap allowed) 64K clusters in [768M, 1G).
MIX_FIO=$WORK/mix.fio
cat > "$MIX_FIO" <<EOF
[global]
ioengine=nbd
uri=\${NBD_URI}
time_based=1
ramp_time=1
runtime=${MIX_RUNTIME}
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
EOF
MIX_ZERO_PY='
import nbd, random, sys, time
h = nbd.NBD()
h.connect_uri(sys.argv[1])
deadline = time.monotonic() + float(sys.argv[2])
rnd = random.Random(1)
buf = b"\x5a" * 65536
n = 0
while time.monotonic() < deadline:
    off = (768 << 20) + rnd.randrange(4096) * 65536
    h.pwrite(buf, off)
    h.zero(65536, off)
    n += 1
h.shutdown()
print(n)
'

mix_once() { # impl -> "iops p99_us trims/s zero_clusters"
    local impl=$1 d qsd sock img zp rc=0 i uri
    d=$(mktemp -d "$WORK/run.XXXXXX")
    img=$d/img.qcow2
    sock=$d/nbd.sock
    cp "$BASE" "$img" || return 1
    "$(impl_dir "$impl")/storage-daemon/qemu-storage-daemon" \
        --blockdev "driver=file,node-name=file0,filename=$img,discard=unmap" \
        --blockdev "driver=qcow2,node-name=fmt0,file=file0,discard=unmap" \
        --nbd-server "addr.type=unix,addr.path=$sock" \
        --export "type=nbd,id=exp0,node-name=fmt0,name=disk,writable=on" \
        >"$d/qsd.log" 2>&1 &
    qsd=$!
    echo "$qsd" >> "$d/pids"
    for i in $(seq 100); do [ -S "$sock" ] && break; sleep 0.1; done
    [ -S "$sock" ] || { cat "$d/qsd.log" >&2; return 1; }
    uri="nbd+unix:///disk?socket=$sock"
    timeout -k 5 $((MIX_RUNTIME + 10)) "$PY" -c "$MIX_ZERO_PY" "$uri" \
        $((MIX_RUNTIME + 1)) > "$d/zero.out" 2>&1 &
    zp=$!
    echo "$zp" >> "$d/pids"
    NBD_URI=$uri timeout -k 5 $((MIX_RUNTIME + 30)) \
        fio --output-format=json --output="$d/fio.json" "$MIX_FIO" >"$d/fio.log" 2>&1 || rc=$?
    wait "$zp" || rc=$?
    kill "$qsd" 2>/dev/null || true
    wait "$qsd" 2>/dev/null || true
    if [ "$rc" != 0 ]; then
        log "mix $impl: fio or the zero client failed ($rc)"
        tail -n 20 "$d/fio.log" "$d/zero.out" "$d/qsd.log" >&2
        return 1
    fi
    rm -f "$d/pids"
    if ! "$(impl_dir "$impl")/qemu-img" check -q "$img" > "$d/check.out" 2>&1; then
        note "mix ($impl): qemu-img check reports problems after the run: $(head -c 300 "$d/check.out")"
    fi
    "$PY" - "$d/fio.json" "$(cat "$d/zero.out")" <<'PYEOF' || return 1
import json, sys
j = json.load(open(sys.argv[1]))
jobs = {x['jobname']: x for x in j['jobs']}
w = jobs['writes']['write']
t = jobs['trims']['trim']
print('%.0f %.1f %.0f %s' % (w['iops'], w['clat_ns']['percentile']['99.000000'] / 1000,
                             t['iops'], sys.argv[2].strip()))
PYEOF
    rm -rf "$d"
}

mix_iops() { # runs the mix, keeps the p99 for mix_p99 of the same pair
    local r
    r=$(mix_once "$1") || return 1
    read -r iops p99 trims zeroes <<<"$r"
    log "mix $1: write IOPS $iops, p99 ${p99} us, trims/s $trims, zero-clusters $zeroes"
    printf '%s\t%s\n' "$1" "$p99" >> "$WORK/mix-p99.raw"
    printf '%s\t%s\t%s\n' "$1" "$trims" "$zeroes" >> "$WORK/mix-other.raw"
    echo "$iops"
}

if want mix; then
    : > "$WORK/mix-p99.raw"; : > "$WORK/mix-other.raw"
    row_meta mix-write-iops "discard mix over NBD: 4K write IOPS" "IOPS" higher mix \
        "qemu-storage-daemon (qcow2, discard=unmap, NBD on a unix socket) + fio ioengine=nbd (see below)"
    row_meta mix-write-p99 "discard mix over NBD: 4K write p99 latency" "us" lower none \
        "same run as the row above"
    row_meta mix-trim-iops "discard mix over NBD: 64K trims/s (job trims)" "IOPS" higher none \
        "same run as the rows above"
    run_pairs mix-write-iops mix_iops "$MIX_PAIRS"
    # the p99 of the same runs, pair by pair (the warm-up pair is dropped)
    "$PY" - "$WORK/mix-p99.raw" "$RES" "$WORK/mix-other.raw" <<'PYEOF'
import sys
rows = [l.split('\t') for l in open(sys.argv[1]).read().split('\n') if l]
with open(sys.argv[2], 'a') as out:
    for i, (impl, v) in enumerate(rows[2:]):
        out.write('mix-write-p99\t%d\t%s\t%s\n' % (i // 2 + 1, impl, v))
rows = [l.split('\t') for l in open(sys.argv[3]).read().split('\n') if l]
with open(sys.argv[2], 'a') as out:
    for i, (impl, trims, zeroes) in enumerate(rows[2:]):
        out.write('mix-trim-iops\t%d\t%s\t%s\n' % (i // 2 + 1, impl, trims))
PYEOF
fi

# --- d. qemu-img convert -c -----------------------------------------------
# The mixed image of CONV_MIB MiB (bench_mixed_image in common.sh),
# generated once per size into BENCH_CACHE, copied to tmpfs for the runs.
conv_src() {
    bench_mixed_image "$BENCH_CACHE" "$CONV_MIB" "$IMG_STOCK" "$WORK"
}

convert_once() { # impl -> seconds
    local out=$WORK/conv-out.qcow2 t0 t1
    rm -f "$out"
    t0=$EPOCHREALTIME
    "$(impl_dir "$1")/qemu-img" convert -c -f qcow2 -O qcow2 "$WORK/conv-src.qcow2" "$out" || return 1
    t1=$EPOCHREALTIME
    rm -f "$out"
    "$PY" -c "import sys; print('%.3f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$t0" "$t1"
}

if want convert; then
    cp "$(conv_src)" "$WORK/conv-src.qcow2"
    row_meta convert-c "qemu-img convert -c, ${CONV_MIB} MiB mixed qcow2 -> qcow2" "s" lower none \
        "qemu-img convert -c -f qcow2 -O qcow2 SRC OUT"
    run_pairs convert-c convert_once
    rm -f "$WORK/conv-src.qcow2"
fi

# --- report ---------------------------------------------------------------
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
mkdir -p "$(dirname "$OUT")"
tcg_of() { if grep -q '^#define CONFIG_TCG ' "$1/config-host.h"; then echo enabled; else echo disabled; fi; }
TCG_STOCK=$(tcg_of "$STOCK")
TCG_PATCHED=$(tcg_of "$PATCHED")
export HOT_PAIRS MIX_PAIRS PIN MODE PAIRS DATE_START TCG_STOCK TCG_PATCHED LOAD_START LOAD_END STRIDE IMG_SIZE CG_N0 CG_N1 \
    MIX_RUNTIME CONV_MIB QUICK
"$PY" - "$RES" "$META" "$CG" "$NOTES" "$OUT" "$SVG" "$WORK" "$MIX_FIO" <<'PYEOF'
import os, platform, re, statistics, subprocess, sys, glob, html

res_f, meta_f, cg_f, notes_f, out_f, svg_f, work, mix_fio = sys.argv[1:9]
E = os.environ

def median(xs):
    return statistics.median(xs)

def median_ci(xs):
    """
    Distribution-free 95% confidence interval of the median: the order
    statistics whose ranks the binomial(n, 1/2) distribution puts around
    the middle with at least 95% probability between them.  None for
    fewer than 6 values (no such interval exists).
    """
    n = len(xs)
    ys = sorted(xs)
    from math import comb
    best = None
    for k in range(n // 2, -1, -1):
        # P(X_(k+1) <= median < X_(n-k)) = sum_{i=k+1}^{n-k-1} C(n,i)/2^n
        p = sum(comb(n, i) for i in range(k + 1, n - k)) / 2 ** n
        if p >= 0.95:
            best = k
            break
    if best is None:
        return (float('nan'), float('nan'))
    return (ys[best], ys[n - best - 1])

meta = []
for line in open(meta_f):
    if line.strip():
        meta.append(line.rstrip('\n').split('\t'))
vals = {}
for line in open(res_f):
    if not line.strip():
        continue
    row, pair, impl, v = line.rstrip('\n').split('\t')
    vals.setdefault(row, {}).setdefault(int(pair), {})[impl] = float(v)

def fmt(v, unit):
    if unit in ('ops/s', 'IOPS'):
        return '{:,.0f}'.format(v)
    if unit == 's':
        return '%.2f' % v
    return '%.1f' % v

rows_out = []
plot = []
for row, label, unit, better, target, cmd in meta:
    pairs = vals.get(row, {})
    ps = [pairs[k] for k in sorted(pairs) if 'stock' in pairs[k] and 'patched' in pairs[k]]
    if not ps:
        continue
    st = [p['stock'] for p in ps]
    pa = [p['patched'] for p in ps]
    ratios = [p['patched'] / p['stock'] for p in ps]
    mr = median(ratios)
    lo, hi = median_ci(ratios)
    # overhead: positive when patched is worse
    ovh = (1 / mr - 1) * 100 if better == 'higher' else (mr - 1) * 100
    if better == 'higher':
        ci = ((1 / hi - 1) * 100, (1 / lo - 1) * 100)
    else:
        ci = ((lo - 1) * 100, (hi - 1) * 100)
    # A median beyond the limit is a miss only if the confidence interval
    # is beyond it too; otherwise this machine cannot tell (see A/A).
    if target == 'hot':
        limit = 1.0
        tgt = 'overhead <= 1%'
    elif target == 'mix':
        limit = (1 / 0.98 - 1) * 100
        tgt = 'ratio >= 0.98'
    else:
        limit = None
        tgt = 'A/A: the spread of identical builds' if target == 'control' else '-'
    if limit is None:
        verdict = '-'
    elif ovh <= limit:
        verdict = 'met'
    elif ci[0] == ci[0] and ci[0] <= limit:
        verdict = 'not resolved'
    else:
        verdict = 'MISSED'
    rows_out.append((label, unit, better, st, pa, ratios, mr, ovh, tgt, verdict, ci))
    plot.append((label, mr, better, verdict))

cg = {}
cg_label = {}
cg_cmd = {}
for line in open(cg_f):
    if line.strip():
        row, impl, ir, q, label, cmd = line.rstrip('\n').split('\t')
        cg.setdefault(row, {})[impl] = (int(ir), int(q))
        cg_label[row] = label
        cg_cmd[row] = cmd

def sh(cmd):
    try:
        return subprocess.check_output(cmd, shell=True, text=True, stderr=subprocess.DEVNULL).strip()
    except Exception:
        return '?'

cpu = '?'
for line in open('/proc/cpuinfo'):
    if line.startswith('model name'):
        cpu = line.split(':', 1)[1].strip()
        break
mem = sh("awk '/MemTotal/ {printf \"%.1f GiB\", $2/1048576}' /proc/meminfo")

L = []
w = L.append
w('# Benchmarks: stock vs patched qcow2')
w('')
w('Generated by `tools/bench.sh` (%s mode: %s, %s or %s measured pairs per row after one warm-up pair).' % (
    E['MODE'], E['HOT_PAIRS'], E['MIX_PAIRS'], E['PAIRS']))
w('Do not edit by hand: rerun the script.')
w('')
busy = max(float(E['LOAD_START'].split()[0]), float(E['LOAD_END'].split()[0])) >= 1.5
w('> Taken %s; load average %s at the start, %s at the end.' % (
    E['DATE_START'], E['LOAD_START'], E['LOAD_END']))
if busy:
    w('> **Other work was running on the machine** (1-minute load >= 1.5): the')
    w('> wall-clock rows are indicative only.')
else:
    w('> Nothing else ran on the machine (1-minute load below 1.5; the benchmark')
    w('> itself keeps about one CPU busy).')
w('> The callgrind rows count instructions and do not depend on the load.')
w('')
w('## Machine')
w('')
w('| | |')
w('|---|---|')
w('| nproc | %s |' % sh('nproc'))
w('| CPU | %s |' % cpu)
w('| memory | %s |' % mem)
w('| kernel | %s |' % sh('uname -srvm'))
w('| OS | %s |' % sh(". /etc/os-release && echo $PRETTY_NAME"))
w('| QEMU | 10.2.2 (Debian 1:10.2.2+ds-1); stock = `build/stock`, patched = `build/patched` |')
w('| fio | %s |' % sh('fio --version'))
w('| valgrind | %s |' % sh('valgrind --version'))
w('| images | tmpfs (`/dev/shm`), qcow2, 64 KiB clusters, cache=writeback (tmpfs has no O_DIRECT) |')
w('')
w('## Wall clock (stock and patched alternately, A B A B ...)')
w('')
w('Median and min-max over the measured runs; ratio = patched / stock of the')
w('same pair; overhead > 0 means patched is slower (from the median ratio),')
w('with the distribution-free 95% confidence interval of the median.  The')
w('qemu-img bench rows: %s pairs, `qemu-img bench` pinned to CPU %s with' % (E['HOT_PAIRS'], E['PIN']))
w('taskset (see the comment in `tools/bench.sh`); the NBD mix rows: %s pairs;' % E['MIX_PAIRS'])
w('the convert row: %s pairs.' % E['PAIRS'])
if any(r[8].startswith('A/A') for r in rows_out):
    w('The A/A control row runs the stock build in both places of every pair:')
    w('its ratios are what this machine makes of two identical builds, the')
    w('noise floor against which the other rows must be read.')
w('')
w('| row | better | stock median (min-max) | patched median (min-max) | pairs | median ratio | overhead | 95% CI of the overhead | target | |')
w('|---|---|---|---|---|---|---|---|---|---|')
for label, unit, better, st, pa, ratios, mr, ovh, tgt, verdict, ci in rows_out:
    w('| %s [%s] | %s | %s (%s-%s) | %s (%s-%s) | %d | **%.3f** | %+.1f%% | %s | %s | %s |' % (
        label, unit, 'higher' if better == 'higher' else 'lower',
        fmt(median(st), unit), fmt(min(st), unit), fmt(max(st), unit),
        fmt(median(pa), unit), fmt(min(pa), unit), fmt(max(pa), unit),
        len(ratios), mr, ovh,
        'n/a (too few pairs)' if ci[0] != ci[0] else '%+.1f%% to %+.1f%%' % ci,
        tgt, verdict))
w('')
if any(r[9] == 'not resolved' for r in rows_out):
    w('"not resolved": the median misses the target, but the confidence interval')
    w('reaches it: the difference is below what this machine can resolve (compare')
    w('the A/A row); "MISSED" would need the whole interval beyond the target.')
    w('')
w('<details><summary>ratio of every pair, in run order</summary>')
w('')
for label, unit, better, st, pa, ratios, mr, ovh, tgt, verdict, ci in rows_out:
    w('- %s: %s' % (label, ' '.join('%.3f' % r for r in ratios)))
w('')
w('</details>')
w('')
if cg:
    w('## Instructions per operation (callgrind, deterministic)')
    w('')
    w('Marginal cost of one request: (Ir of %s requests - Ir of %s requests) / %d,' % (
        E['CG_N1'], E['CG_N0'], int(E['CG_N1']) - int(E['CG_N0'])))
    w('so that start-up and exit do not count.  "qcow2 code" is the self cost of')
    w('the functions in `block/qcow2*.c` (where the series changes code); "other"')
    w('is the rest of the difference.  The target (<= 1%) is checked against both')
    w('the whole difference and the qcow2 part alone.')
    w('')
    w('| row | stock Ir/op | patched Ir/op | delta | qcow2 code: stock | patched | delta (% of stock total) | other delta | target: total | target: qcow2 part |')
    w('|---|---|---|---|---|---|---|---|---|---|')
    for row in cg:
        s, p = cg[row]['stock'], cg[row]['patched']
        d = (p[0] - s[0]) / s[0] * 100
        dq = (p[1] - s[1]) / s[0] * 100
        plot.append(('callgrind: ' + cg_label[row] + ' [Ir/op]', p[0] / s[0], 'lower',
                     'met' if d <= 1.0 else 'MISSED'))
        w('| %s | %d | %d | %+.2f%% | %d | %d | %+d (%+.2f%%) | %+d | %s | %s |' % (
            cg_label[row], s[0], p[0], d, s[1], p[1], p[1] - s[1], dq,
            (p[0] - s[0]) - (p[1] - s[1]),
            'met' if d <= 1.0 else 'MISSED', 'met' if dq <= 1.0 else 'MISSED'))
    w('')
    if E.get('TCG_STOCK') != E.get('TCG_PATCHED'):
        w('The two builds are not configured alike: TCG is %s in `build/stock`' % E['TCG_STOCK'])
        w('(tools only) and %s in `build/patched` (which also builds' % E['TCG_PATCHED'])
        w('qemu-system-x86_64).  With CONFIG_TCG, `icount_enabled()` reads a variable')
        w('instead of being the constant ICOUNT_DISABLED, so the main loop\'s timer')
        w('code (`timerlistgroup_deadline_ns`, `qemu_clock_get_ns`,')
        w('`qemu_clock_run_all_timers`) costs more per iteration in the patched')
        w('build whatever the series does: that is most of the "other" column.  The')
        w('"qcow2 code" column is the part that the series is responsible for.')
        w('')
    # function-level difference of the rewrite path
    for row in cg:
        fs = {}
        for impl in ('stock', 'patched'):
            per = {}
            for n, sign in ((E['CG_N0'], -1), (E['CG_N1'], 1)):
                path = os.path.join(work, 'cg-%s-%s-%s.txt' % (impl, n, row))
                for line in open(path):
                    m = re.match(r'\s*([\d,]+)\s+\(\s*[\d.]+%\)\s+(\S+?):(\S+)', line)
                    if m:
                        per[m.group(3)] = per.get(m.group(3), 0) + sign * int(m.group(1).replace(',', ''))
            fs[impl] = {k: v / (int(E['CG_N1']) - int(E['CG_N0'])) for k, v in per.items()}
        keys = sorted(set(fs['stock']) | set(fs['patched']),
                      key=lambda k: -abs(fs['patched'].get(k, 0) - fs['stock'].get(k, 0)))
        keys = [k for k in keys if abs(fs['patched'].get(k, 0) - fs['stock'].get(k, 0)) >= 1.0][:15]
        w('<details><summary>%s: functions whose self Ir/op differs (callgrind_annotate)</summary>' % cg_label[row])
        w('')
        w('| function | stock | patched | delta |')
        w('|---|---|---|---|')
        for k in keys:
            a, b = fs['stock'].get(k, 0), fs['patched'].get(k, 0)
            w('| `%s` | %.0f | %.0f | %+.0f |' % (k, a, b, b - a))
        w('')
        w('</details>')
        w('')
notes = [l.strip() for l in open(notes_f) if l.strip()]
if notes:
    w('## Notes from the run')
    w('')
    for n in notes:
        w('- ' + n)
    w('')
w('## Commands')
w('')
w('`IMG` is a 1 GiB qcow2 image (`qemu-img create -f qcow2 IMG 1G`, then')
w('`qemu-io -c "write -P 0xa5 0 1G" IMG`), so every cluster is allocated and')
w('every write is a rewrite.  qemu-img bench has no random mode: "scattered"')
w('rows use a stride of %d bytes (a prime number of 4K blocks), so request' % int(E['STRIDE']))
w('k goes to k * stride mod (1 GiB - 4K), every 4K block once per period.')
w('Each command runs with `build/stock/qemu-img` and `build/patched/qemu-img`.')
w('')
w('```')
for row, label, unit, better, target, cmd in meta:
    w('# %s' % label)
    w(cmd)
for row in cg:
    w('# callgrind: %s' % cg_label[row])
    w(cg_cmd[row])
w('```')
w('')
if any(m[0].startswith('mix') for m in meta):
    w('Discard mix (%s s per run after 1 s ramp, a fresh copy of IMG each run):' % E['MIX_RUNTIME'])
    w('')
    w('```')
    w('qemu-storage-daemon \\')
    w('  --blockdev driver=file,node-name=file0,filename=IMG,discard=unmap \\')
    w('  --blockdev driver=qcow2,node-name=fmt0,file=file0,discard=unmap \\')
    w('  --nbd-server addr.type=unix,addr.path=SOCK \\')
    w('  --export type=nbd,id=exp0,node-name=fmt0,name=disk,writable=on')
    w('NBD_URI="nbd+unix:///disk?socket=SOCK" fio --output-format=json mix.fio')
    w('# plus a python3-libnbd client for the same time: pwrite 64K then')
    w('# zero 64K (NBD_CMD_WRITE_ZEROES, unmap allowed) at random clusters of [768M, 1G)')
    w('```')
    w('')
    w('mix.fio (job "writes" is measured):')
    w('')
    w('```ini')
    for line in open(mix_fio):
        w(line.rstrip('\n'))
    w('```')
    w('')
if any(m[0] == 'convert-c' for m in meta):
    w('Convert source: %s MiB, 1 MiB chunks cycling through seeded random data,' % E['CONV_MIB'])
    w('zeroes and repetitive text, every cluster allocated (`qemu-img convert -S 0`')
    w('from raw); generated once into `$QS_CACHE/bench`, copied to tmpfs for the runs.')
    w('')
w('The ratios are plotted in [benchmark-ratios.svg](benchmark-ratios.svg).')
open(out_f, 'w').write('\n'.join(L) + '\n')

# --- SVG: median ratio per row, as horizontal bars around 1.0 ---
lo = min([0.95] + [r for _, r, _, _ in plot]) - 0.01
hi = max([1.05] + [r for _, r, _, _ in plot]) + 0.01
W, left, right, bh, top = 960, 430, 40, 26, 60
H = top + bh * len(plot) + 60
def x(v):
    return left + (v - lo) / (hi - lo) * (W - left - right)
S = []
a = S.append
a('<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">' % (W, H))
a('<rect width="100%" height="100%" fill="white"/>')
a('<text x="%d" y="22" font-size="15" font-weight="bold">patched / stock, median ratio per row (%s mode, %s)</text>' % (10, E['MODE'], html.escape(E['DATE_START'])))
a('<text x="%d" y="40" fill="#555">wall-clock rows taken on a shared, loaded machine: indicative only. ' % 10 +
  'Green: target met or no target; red: target missed.</text>')
for v in [lo + (hi - lo) * i / 10 for i in range(11)]:
    a('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#eee"/>' % (x(v), top - 5, x(v), H - 45))
    a('<text x="%.1f" y="%d" text-anchor="middle" fill="#555">%.3f</text>' % (x(v), H - 30, v))
for i, (label, r, better, verdict) in enumerate(plot):
    y = top + i * bh
    col = {'MISSED': '#c0392b', 'not resolved': '#e67e22'}.get(verdict, '#27ae60')
    x0, x1 = sorted((x(1.0), x(r)))
    a('<rect x="%.1f" y="%d" width="%.1f" height="%d" fill="%s"/>' % (x0, y + 4, max(x1 - x0, 1), bh - 8, col))
    a('<text x="%d" y="%d" text-anchor="end">%s (%s is better)</text>' % (left - 8, y + bh - 9, html.escape(label), 'higher' if better == 'higher' else 'lower'))
    a('<text x="%.1f" y="%d" fill="#333">%.3f</text>' % (x1 + 4, y + bh - 9, r))
a('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="black" stroke-width="1.5"/>' % (x(1.0), top - 5, x(1.0), H - 45))
a('<text x="%.1f" y="%d" text-anchor="middle">ratio patched / stock</text>' % ((left + W - right) / 2, H - 10))
a('</svg>')
open(svg_f, 'w').write('\n'.join(S) + '\n')
print(open(out_f).read())
PYEOF
log "wrote $OUT and $SVG"
