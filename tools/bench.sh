#!/bin/bash
# Benchmark of the series: stock vs patched qcow2, on tmpfs.
#
#   tools/bench.sh                 # full run (1 warm-up pair + BENCH_PAIRS pairs)
#   BENCH_QUICK=1 tools/bench.sh   # smoke run: 1 warm-up + 2 pairs, small counts
#
# Environment: BENCH_PAIRS (measured pairs of the convert row, default 5;
# 2 in quick mode), BENCH_MIX_PAIRS (of the NBD mix rows, default 30; 2 in
# quick mode), BENCH_HOT_PAIRS (measured pairs of the qemu-img bench rows
# at least, default 100; 4 in quick mode), BENCH_HOT_MAX (at most, default
# 1000; 4 in quick mode), BENCH_HOT_CI (between the two, a row stops once
# the 95% confidence interval of its median overhead is at most this many
# percentage points wide, default 1.5), BENCH_PIN (the CPU
# that the qemu-img bench runs are pinned to with taskset, default 1;
# "none" for no pinning),
# BENCH_CACHE (where the convert source image is generated once, default
# $QS_CACHE/bench), BENCH_TMP (a tmpfs directory to work in, default
# /dev/shm), BENCH_OUT (default docs/benchmarks.md; the SVG goes next to
# it as benchmark-ratios.svg, or X-ratios.svg for X.md), BENCH_KEEP (a
# directory to keep the raw results in; `tools/bench-report.sh DIR` writes
# the report from them again), BENCH_ROWS (a regex of row groups to run:
# bench, callgrind, mix, convert; default all).
#
# Wall-clock rows run stock and patched alternately, A B B A ..., a warm-up
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
    HOT_MAX=${BENCH_HOT_MAX:-4}
    MIX_PAIRS=${BENCH_MIX_PAIRS:-2}
    MODE=quick
else
    PAIRS=${BENCH_PAIRS:-5}
    HOT_PAIRS=${BENCH_HOT_PAIRS:-100}
    HOT_MAX=${BENCH_HOT_MAX:-1000}
    MIX_PAIRS=${BENCH_MIX_PAIRS:-30}
    MODE=full
fi
[[ $PAIRS =~ ^[1-9][0-9]*$ ]] || die "BENCH_PAIRS must be a positive integer"
[[ $HOT_PAIRS =~ ^[1-9][0-9]*$ ]] || die "BENCH_HOT_PAIRS must be a positive integer"
[[ $MIX_PAIRS =~ ^[1-9][0-9]*$ ]] || die "BENCH_MIX_PAIRS must be a positive integer"
[[ $HOT_MAX =~ ^[0-9]+$ ]] || die "BENCH_HOT_MAX must be a number"
[ "$HOT_MAX" -le "$HOT_PAIRS" ] || [ "$HOT_PAIRS" -ge 10 ] ||
    die "BENCH_HOT_PAIRS must be at least 10 when BENCH_HOT_MAX is larger"
HOT_CI=${BENCH_HOT_CI:-1.5}
[[ $HOT_CI =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "BENCH_HOT_CI must be a number"
PIN=${BENCH_PIN:-1}
if [ "$PIN" = none ]; then
    PIN_CMD=()
else
    [[ $PIN =~ ^[0-9]+$ ]] || die "BENCH_PIN must be a CPU number or none"
    PIN_CMD=(taskset -c "$PIN")
fi
ROWS=${BENCH_ROWS:-bench|callgrind|mix|convert}
OUT=${BENCH_OUT:-$TOP/docs/benchmarks.md}
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
# host's noise, not qcow2's.
#
# Even pinned, one run of the same build on this machine takes anything
# from its best time to 1.5 times that (the hypervisor's other guests come
# and go), so one pair's ratio is worth little: the QD32 aio=threads rows
# spread by 13-20% (standard deviation of the log ratio, A/A).  Short runs
# and many pairs resolve far better than long runs: over the same 100 s,
# 200 pairs of 15000 requests gave an A/A confidence interval 2.5 points
# wide, 50 pairs of 60000 requests one 9.3 points wide.  Not too short,
# though: qemu-img bench reports its time in milliseconds, and runs of
# 0.15 s made 2-6% of the pairs tie at a ratio of exactly 1, enough to pin
# a median there.  Hence runs of 0.2-0.3 s (the counts below), and pairs
# until the interval is narrow enough (HOT_CI).
#
# Sizes and counts.  The qemu-img bench rows use a stride that is a prime
# number of 4K blocks: k * stride mod (image size - 4K) visits every 4K
# block of the image once per period, in a scattered order (qemu-img bench
# has no random mode).
IMG_SIZE=1G
STRIDE=$((4096 * 100003))
if [ "$QUICK" = 1 ]; then
    C_QD1_threads=5000; C_QD32_threads=10000; C_SEQ_threads=2000
    C_QD1_io_uring=5000; C_QD32_io_uring=10000; C_SEQ_io_uring=2000
    CG_N0=1000; CG_N1=3000
    MIX_RUNTIME=3
    CONV_MIB=256
else
    # about 0.2 to 0.3 s per run here
    C_QD1_threads=15000; C_QD32_threads=25000; C_SEQ_threads=10000
    C_QD1_io_uring=20000; C_QD32_io_uring=70000; C_SEQ_io_uring=12000
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
CG=$WORK/callgrind.tsv    # row  impl  Ir_per_op  qcow2_Ir_per_op  label  command  basis
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

# run_pairs ROW FUNC [N [MAX]]: FUNC IMPL prints one number; a warm-up
# pair, then N pairs (default PAIRS).  The order alternates from pair to
# pair (stock first, then patched first: A B B A A B ...), so that
# whatever favours the first or the second run of a pair (a cache warmed by
# the previous run, a timer) cancels out instead of leaning on the ratio.
# With MAX > N, pairs go on in blocks of 25 until the 95% confidence
# interval of the median ratio is at most HOT_CI percentage points wide, or
# MAX pairs have run: the stopping rule looks at the width of the interval
# only, never at where the median lies.
run_pairs() {
    local row=$1 fn=$2 n=${3:-$PAIRS} max=${4:-0} i=0 m impl v order
    while :; do
        if [ $((i % 2)) = 0 ]; then order="stock patched"; else order="patched stock"; fi
        for impl in $order; do
            v=$("$fn" "$impl") || die "$row: $impl run failed"
            [ -n "$v" ] || die "$row: $impl run gave no number"
            if [ "$i" = 0 ]; then
                log "$row warm-up $impl: $v"
            else
                printf '%s\t%s\t%s\t%s\n' "$row" "$i" "$impl" "$v" >> "$RES"
            fi
        done
        i=$((i + 1))
        m=$((i - 1))    # measured pairs so far
        [ "$m" -lt "$n" ] && continue
        [ "$m" -lt "$max" ] || break
        [ $(((m - n) % 25)) = 0 ] || continue
        ci_wide "$row" || break
    done
    log "$row: $m measured pairs"
}

# ci_wide ROW: true while the 95% CI of the row's median ratio is wider than
# HOT_CI percentage points
ci_wide() {
    "$PY" "$(dirname "$0")/median_ci.py" "$RES" "$1" "$HOT_CI"
}

log "mode $MODE, $HOT_PAIRS/$PAIRS measured pairs, pinned to CPU $PIN, work dir $WORK"
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
LOAD_HOT=
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
    awk -v c="$BENCH_COUNT" -v t="$t" 'BEGIN { printf "%.0f\n", c / t }'
}

bench_row() { # id label count args...
    local id=$1 label=$2 target=hot
    BENCH_COUNT=$3
    shift 3
    [ "$AA" = 1 ] && target=control
    BENCH_ARGS=(-f qcow2 -t writeback -c "$BENCH_COUNT" "$@")
    row_meta "$id" "$label" "ops/s" higher "$target" \
        "${PIN_CMD[*]}${PIN_CMD:+ }qemu-img bench ${BENCH_ARGS[*]} IMG"
    run_pairs "$id" bench_once "$HOT_PAIRS" "$HOT_MAX"
}

if want bench; then
    for aio in "${AIOS[@]}"; do
        c1=C_QD1_$aio c32=C_QD32_$aio cseq=C_SEQ_$aio
        c1=${!c1} c32=${!c32} cseq=${!cseq}
        bench_row "bench-$aio-randwrite-qd1" "4K scattered rewrite, QD1, aio=$aio" \
            "$c1" -i "$aio" -d 1 -w -s 4K -S "$STRIDE"
        bench_row "bench-$aio-randwrite-qd32" "4K scattered rewrite, QD32, aio=$aio" \
            "$c32" -i "$aio" -d 32 -w -s 4K -S "$STRIDE"
        bench_row "bench-$aio-randread-qd32" "4K scattered read, QD32, aio=$aio" \
            "$c32" -i "$aio" -d 32 -s 4K -S "$STRIDE"
        bench_row "bench-$aio-seqwrite-64k" "64K sequential rewrite, QD1, aio=$aio" \
            "$cseq" -i "$aio" -d 1 -w -s 64K
    done
    # The noise floor: the same row with stock in both places of each pair
    AA=1
    bench_row "bench-aa-randwrite-qd32" \
        "A/A control: 4K scattered rewrite, QD32, aio=threads, stock vs stock" \
        "$C_QD32_threads" -i threads -d 32 -w -s 4K -S "$STRIDE"
    AA=0
    # The rows below load the machine themselves (the NBD mix and convert
    # use both CPUs): whether something else ran is judged at the start
    # and here.
    LOAD_HOT=$(cut -d' ' -f1-3 /proc/loadavg)
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

# BASIS: what the target is checked against: "total" (every instruction of
# the request) or "qcow2" (the self cost of block/qcow2*.c only).
cg_row() { # id label basis args...
    local id=$1 label=$2 basis=$3 impl a b
    shift 3
    CG_TAG=$id
    for impl in stock patched; do
        log "$id: callgrind $impl ($CG_N0 and $CG_N1 ops)"
        read -r a0 q0 <<<"$(cg_run "$impl" "$CG_N0" "$@")"
        read -r a1 q1 <<<"$(cg_run "$impl" "$CG_N1" "$@")"
        [ -n "${q0:-}" ] && [ -n "${q1:-}" ] || die "$id: callgrind run failed"
        a=$(( (a1 - a0) / (CG_N1 - CG_N0) ))
        b=$(( (q1 - q0) / (CG_N1 - CG_N0) ))
        log "$id $impl: $a Ir/op ($b in block/qcow2*.c)"
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$id" "$impl" "$a" "$b" "$label" \
            "valgrind --tool=callgrind qemu-img bench -f qcow2 -t writeback -c {$CG_N0,$CG_N1} $* IMG" \
            "$basis" >> "$CG"
    done
}

if want callgrind; then
    cg_row cg-rewrite-qd1 "4K scattered rewrite, QD1, aio=io_uring" total \
        -i io_uring -d 1 -w -s 4K -S "$STRIDE"
    cg_row cg-read-qd1 "4K scattered read, QD1, aio=io_uring" total \
        -i io_uring -d 1 -s 4K -S "$STRIDE"
    # At QD32, how many completions one main loop iteration collects depends
    # on when the kernel completes the io_uring requests, even under
    # valgrind: the main loop's share of a request varies from run to run
    # (stock 6812-6827 Ir, patched 6844-6909 Ir for the rewrite, three runs
    # each), while the qcow2 code's does not.  These rows show that the
    # qcow2 cost of a request does not grow with the number in flight.
    cg_row cg-rewrite-qd32 "4K scattered rewrite, QD32, aio=io_uring" qcow2 \
        -i io_uring -d 32 -w -s 4K -S "$STRIDE"
    cg_row cg-read-qd32 "4K scattered read, QD32, aio=io_uring" qcow2 \
        -i io_uring -d 32 -s 4K -S "$STRIDE"
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
tcg_of() { if grep -q '^#define CONFIG_TCG ' "$1/config-host.h"; then echo enabled; else echo disabled; fi; }
TCG_STOCK=$(tcg_of "$STOCK")
TCG_PATCHED=$(tcg_of "$PATCHED")
# Everything else that the report needs, next to the raw results, so that
# tools/bench-report.sh can write the report again from a kept copy
for v in HOT_PAIRS HOT_MAX HOT_CI MIX_PAIRS PIN MODE PAIRS DATE_START TCG_STOCK \
    TCG_PATCHED LOAD_START LOAD_HOT LOAD_END STRIDE IMG_SIZE CG_N0 CG_N1 \
    MIX_RUNTIME CONV_MIB QUICK; do
    printf '%s=%q\n' "$v" "${!v}"
done > "$WORK/env.sh"
if [ -n "${BENCH_KEEP:-}" ]; then
    mkdir -p "$BENCH_KEEP"
    cp "$RES" "$META" "$CG" "$NOTES" "$MIX_FIO" "$WORK/env.sh" "$BENCH_KEEP"/
    for f in "$WORK"/cg-*-*-*.txt; do
        [ -f "$f" ] && cp "$f" "$BENCH_KEEP"/
    done
    log "raw results kept in $BENCH_KEEP"
fi
"$(dirname "$0")/bench-report.sh" "$WORK" "$OUT"
