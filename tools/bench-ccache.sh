#!/bin/bash
# Benchmark of qcow2's compressed write cache (qcow2 runtime options
# compressed-write-cache=on|off|auto and compressed-write-cache-size): stock
# vs patched with the cache off vs patched with the cache on, writing
# compressed clusters into a target opened with O_DIRECT on a real file
# system (not tmpfs, which has no O_DIRECT).
#
#   tools/bench-ccache.sh                      # full run
#   BENCH_CC_QUICK=1 tools/bench-ccache.sh     # smoke run: small images, 1 round
#
# Rows:
#   convert   qemu-img convert -c -t none of a mixed-content qcow2 image
#             (random, zero and text-like 1 MiB chunks) into a pre-created
#             qcow2 target; wall time, plus a separate strace run per
#             variant that counts the host I/O syscalls on the target file
#   throttle  the same convert with the target's file node behind a
#             throttle node limited to BENCH_CC_IOPS IOPS (network storage
#             model), on a smaller image
#   backup    qemu-storage-daemon, blockdev-backup sync=full compress=on into
#             a qcow2 target opened with cache.direct=on, driven over QMP;
#             wall time, plus a separate strace run per variant
#
# Every run is verified: `qemu-img compare` of source and target and
# `qemu-img check` of the target (stock qemu-img for both).
#
# Environment:
#   BENCH_CC_STOCK, BENCH_CC_PATCHED  build directories (default build/stock,
#                            build/patched)
#   BENCH_CC_ROUNDS          measured rounds after one warm-up round (default
#                            3; 1 and no warm-up in quick mode)
#   BENCH_CC_QUICK=1         smoke run
#   BENCH_CC_OUT             report (default docs/benchmarks-ccache.md)
#   BENCH_CC_ROWS            regex of rows to run: convert|throttle|backup
#   BENCH_CC_MIB             size of the convert and backup image in MiB
#                            (default 1024; quick 64)
#   BENCH_CC_THROTTLE_MIB    size of the throttled row's image (default 256;
#                            quick 32)
#   BENCH_CC_IOPS            the throttle's x-iops-total (default 500)
#   BENCH_CC_ALIGN           the block size of the throttled volume (default
#                            4096): a blkdebug node with align=BENCH_CC_ALIGN
#                            above the throttle node makes the block layer
#                            do read-modify-write there, so that the RMW
#                            reads of unaligned writes pass the throttle too
#   BENCH_CC_CONTENT         the source image (bench_source_image in
#                            common.sh): mixed (default; a third random,
#                            a third zero, a third text) or compressible
#                            (every non-zero cluster compresses)
#   BENCH_CC_COMPRESSION     the targets' compression_type (default zlib)
#   BENCH_CC_SIZE            if set, compressed-write-cache-size=BYTES is
#                            passed with compressed-write-cache=on
#   BENCH_CC_COUNT=0         skip the strace counting runs
#   BENCH_CC_CACHE           where the source images are generated once
#                            (default $QS_CACHE/bench, shared with bench.sh)
#   BENCH_CC_TMP             a directory on a file system with O_DIRECT for
#                            the targets (default /var/tmp)
#   BENCH_CC_WAIT_IDLE       wait up to this many seconds for the machine to
#                            be idle before starting (default 0: do not wait)
#   BENCH_CC_MAXLOAD         "idle" means a 1-minute load average below this
#                            (default 1.5) and no build/bench/stress running
#
# The variants run alternately (stock, off, on, stock, off, on, ...), one
# warm-up round first.  Reported: medians, min-max, ratio to stock of the
# same round.  Nothing under build/ is modified: the builds are only run.
. "$(dirname "$0")/common.sh"

absdir() { (cd "$1" 2>/dev/null && pwd) || die "no such directory: $1"; }
STOCK=$(absdir "${BENCH_CC_STOCK:-$STOCK}")
PATCHED=$(absdir "${BENCH_CC_PATCHED:-$PATCHED}")
QEMU_PYTHON=$TOP/build/qemu/python

QUICK=${BENCH_CC_QUICK:-0}
if [ "$QUICK" = 1 ]; then
    MODE=quick
    ROUNDS=${BENCH_CC_ROUNDS:-1}
    WARMUP=${BENCH_CC_WARMUP:-0}
    MIB=${BENCH_CC_MIB:-64}
    TMIB=${BENCH_CC_THROTTLE_MIB:-32}
else
    MODE=full
    ROUNDS=${BENCH_CC_ROUNDS:-3}
    WARMUP=${BENCH_CC_WARMUP:-1}
    MIB=${BENCH_CC_MIB:-1024}
    TMIB=${BENCH_CC_THROTTLE_MIB:-256}
fi
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || die "BENCH_CC_ROUNDS must be a positive integer"
[[ $WARMUP =~ ^[01]$ ]] || die "BENCH_CC_WARMUP must be 0 or 1"
[[ $MIB =~ ^[1-9][0-9]*$ && $TMIB =~ ^[1-9][0-9]*$ ]] || die "image sizes must be positive integers (MiB)"
IOPS=${BENCH_CC_IOPS:-500}
[[ $IOPS =~ ^[1-9][0-9]*$ ]] || die "BENCH_CC_IOPS must be a positive integer"
ALIGN=${BENCH_CC_ALIGN:-4096}
[[ $ALIGN =~ ^[1-9][0-9]*$ ]] || die "BENCH_CC_ALIGN must be a positive integer"
CONTENT=${BENCH_CC_CONTENT:-mixed}
[[ $CONTENT =~ ^(mixed|compressible)$ ]] || die "BENCH_CC_CONTENT must be mixed or compressible"
COMPRESSION=${BENCH_CC_COMPRESSION:-zlib}
[[ $COMPRESSION =~ ^(zlib|zstd)$ ]] || die "BENCH_CC_COMPRESSION must be zlib or zstd"
CC_SIZE=${BENCH_CC_SIZE:-}
[[ -z $CC_SIZE || $CC_SIZE =~ ^[1-9][0-9]*$ ]] || die "BENCH_CC_SIZE must be a number of bytes"
COUNT=${BENCH_CC_COUNT:-1}
ROWS=${BENCH_CC_ROWS:-convert|throttle|backup}
if [ "$CONTENT" = mixed ] && [ "$COMPRESSION" = zlib ]; then
    OUT=${BENCH_CC_OUT:-$TOP/docs/benchmarks-ccache.md}
else
    OUT=${BENCH_CC_OUT:-$TOP/docs/benchmarks-ccache-$CONTENT-$COMPRESSION.md}
fi
CACHE_DIR=${BENCH_CC_CACHE:-$QS_CACHE/bench}
TMPBASE=${BENCH_CC_TMP:-/var/tmp}
WAIT_IDLE=${BENCH_CC_WAIT_IDLE:-0}
MAXLOAD=${BENCH_CC_MAXLOAD:-1.5}
CLUSTER=65536
RUN_TIMEOUT=${BENCH_CC_TIMEOUT:-3600}   # seconds, per command
BUSY_RE='tools/bench.sh|qcow2_stress|make|ninja|cc1'

want() { [[ $1 =~ ^($ROWS)$ ]]; }
for b in "$STOCK" "$PATCHED"; do
    for t in qemu-img storage-daemon/qemu-storage-daemon; do
        [ -x "$b/$t" ] || die "missing $b/$t"
    done
done
if [ "$COUNT" = 1 ]; then
    command -v strace >/dev/null || die "strace is missing (apt-get install strace; or BENCH_CC_COUNT=0)"
fi
if want backup; then
    [ -d "$QEMU_PYTHON/qemu/qmp" ] || die "no QMP library in $QEMU_PYTHON"
fi
IMG=$STOCK/qemu-img     # creates, compares and checks: always stock

# --- temporary state, cleaned up on any exit ------------------------------
mkdir -p "$TMPBASE"
WORK=$(mktemp -d "$TMPBASE/qcow2-ccache.XXXXXX")
# Processes started in the background record their pids in $WORK/run.*/pids;
# a run removes that file once it has ended them itself, so that only live
# processes of ours are ever killed here.
cleanup() {
    local f p
    for f in "$WORK"/run.*/pids; do
        [ -f "$f" ] || continue
        while read -r p; do
            [ -n "$p" ] || continue
            kill "$p" 2>/dev/null || true
            for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
            kill -9 "$p" 2>/dev/null || true
        done < "$f"
    done
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

RES=$WORK/results.tsv     # row  round  variant  value
META=$WORK/rows.tsv       # row  label  goal  command(s, \n-separated)
CNT=$WORK/counts.tsv      # row  variant  json
VER=$WORK/verify.tsv      # row  round  variant  ok|FAIL  detail
NOTES=$WORK/notes.txt
CPU=$WORK/cpu.tsv         # row  round  variant  user+sys seconds
: > "$CPU"; : > "$RES"; : > "$META"; : > "$CNT"; : > "$VER"; : > "$NOTES"
note() { log "$*"; echo "$*" >> "$NOTES"; }
row_meta() { printf '%s\t%s\t%s\t%s\n' "$@" >> "$META"; }

# --- the target's file system: real, with O_DIRECT, enough room ----------
FSTYPE=$(findmnt -n -o FSTYPE -T "$WORK" 2>/dev/null || stat -f -c %T "$WORK")
[ "$FSTYPE" != tmpfs ] || die "$TMPBASE is tmpfs (no O_DIRECT): set BENCH_CC_TMP to a directory on a disk file system"
dd if=/dev/zero of="$WORK/odirect.test" bs=4096 count=4 oflag=direct status=none 2>/dev/null ||
    die "$TMPBASE does not support O_DIRECT (dd oflag=direct failed): set BENCH_CC_TMP"
rm -f "$WORK/odirect.test"
need=$(( (MIB > TMIB ? MIB : TMIB) * 3 + 1024 ))
avail=$(df --output=avail -BM "$WORK" | tail -n 1 | tr -dc 0-9)
[ "$avail" -ge "$need" ] || die "$TMPBASE has ${avail} MiB free, need ${need} MiB"
FSDEV=$(df --output=source "$WORK" | tail -n 1)

# --- machine state --------------------------------------------------------
# Processes that make the machine busy, not counting this script's own
# ancestors (make bench-ccache).
busy_procs() {
    local anc=" $$ " p=$$ q
    while [ "$p" -gt 1 ]; do
        p=$(awk '{print $4}' "/proc/$p/stat" 2>/dev/null || echo 1)
        anc="$anc$p "
    done
    for q in $(pgrep -f "$BUSY_RE" || true); do
        [[ $anc == *" $q "* ]] && continue
        tr '\0' ' ' < "/proc/$q/cmdline" 2>/dev/null | cut -c1-80 | sed "s/^/$q: /" || true
    done
}
load1() { cut -d' ' -f1 /proc/loadavg; }
is_idle() {
    [ -z "$(busy_procs)" ] && awk -v l="$(load1)" -v m="$MAXLOAD" 'BEGIN { exit !(l < m) }'
}
if [ "$WAIT_IDLE" -gt 0 ] && ! is_idle; then
    log "waiting up to $WAIT_IDLE s for the machine to be idle (load < $MAXLOAD, nothing matching '$BUSY_RE')"
    deadline=$((SECONDS + WAIT_IDLE))
    while [ $SECONDS -lt $deadline ] && ! is_idle; do sleep 15; done
fi
# the binaries under test, to notice a rebuild during the run
bin_ids() {
    local b
    for b in "$STOCK" "$PATCHED"; do
        stat -c '%n %Y %s' "$b/qemu-img" "$b/storage-daemon/qemu-storage-daemon"
    done
}
LAST_BIN_IDS=$(bin_ids)
# track_build WHERE: notes when the binaries changed since the last call,
# so that the report says exactly which runs used which build
track_build() {
    local now
    now=$(bin_ids)
    if [ "$now" != "$LAST_BIN_IDS" ]; then
        note "The binaries under test CHANGED (rebuilt by someone else) before $1: the runs before it used the previous build. Modification times before: $(bin_mtimes "$LAST_BIN_IDS"); now: $(bin_mtimes "$now")."
        LAST_BIN_IDS=$now
    fi
}
bin_mtimes() { # bin_ids output -> "path YYYY-mm-dd HH:MM:SS, ..." (changed ones only matter)
    local n m sz out=""
    while read -r n m sz; do
        out="$out${out:+, }${n#"$TOP"/} $(date -u -d "@$m" '+%H:%M:%S') (${sz} bytes)"
    done <<<"$1"
    echo "$out"
}
TREE_HEAD=$(git -C "$TREE" log -1 --format='%h %s' 2>/dev/null || echo '?')
if [ -n "$(git -C "$TREE" status --porcelain --untracked-files=no 2>/dev/null)" ]; then
    TREE_HEAD="$TREE_HEAD (plus uncommitted changes in the tree)"
fi
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
DATE_START=$(date -u '+%Y-%m-%d %H:%M UTC')
BUSY_START=$(busy_procs)
if is_idle; then IDLE_START=yes; else IDLE_START=no; fi
[ -z "$BUSY_START" ] || log "busy processes at the start: $(echo "$BUSY_START" | tr '\n' ';')"

# --- variants: does the patched build have the cache? ---------------------
SUPPORTED=0
probe_cache() {
    local d=$WORK/probe out
    mkdir -p "$d"
    "$IMG" create -q -f qcow2 "$d/s.qcow2" 1M
    "$IMG" create -q -f qcow2 "$d/t.qcow2" 1M
    local extra=",compressed-write-cache=off"
    if out=$("$PATCHED/qemu-img" convert -c -t none -f qcow2 -n --target-image-opts "$d/s.qcow2" \
            "driver=qcow2,file.driver=file,file.filename=$d/t.qcow2$extra" 2>&1); then
        SUPPORTED=1
        if [ -n "$CC_SIZE" ]; then
            out=$("$PATCHED/qemu-img" convert -c -t none -f qcow2 -n --target-image-opts "$d/s.qcow2" \
                "driver=qcow2,file.driver=file,file.filename=$d/t.qcow2,compressed-write-cache=on,compressed-write-cache-size=$CC_SIZE" 2>&1) ||
                die "the patched build refuses compressed-write-cache-size=$CC_SIZE: $out"
        fi
    elif [[ $out == *"does not support the option 'compressed-write-cache'"* ]]; then
        SUPPORTED=0
    else
        die "probing the patched build failed for another reason: $out"
    fi
    "$PATCHED/qemu-img" convert -q -c -t none -f qcow2 -n --target-image-opts "$d/s.qcow2" \
        "driver=qcow2,file.driver=file,file.filename=$d/t.qcow2,compressed-write-cache=sure" >/dev/null 2>&1 &&
        [ "$SUPPORTED" = 1 ] && die "the patched build accepts compressed-write-cache=sure: the probe is not reliable"
    rm -rf "$d"
}
probe_cache
if [ "$SUPPORTED" = 1 ]; then
    VARIANTS=(stock off on)
    # counting runs only: the patched build without the option (default
    # auto, which should be on with an O_DIRECT target)
    COUNT_VARIANTS=(stock off on auto)
    log "the patched build knows compressed-write-cache: variants stock, off, on"
else
    VARIANTS=(stock patched)
    COUNT_VARIANTS=(stock patched)
    log "*** $PATCHED/qemu-img does not know the qcow2 option compressed-write-cache"
    log "*** (the cache has not landed in that build): running stock and the patched build"
    log "*** WITHOUT the option only; the off/on variants are skipped and no goal is evaluated"
    note "The patched build ($PATCHED) does not know compressed-write-cache: variants off and on skipped, goals not evaluated."
fi

vdir() { if [ "$1" = stock ]; then echo "$STOCK"; else echo "$PATCHED"; fi; }
# qcow2 options that select the variant (appended to the target's qcow2 node)
vopts() {
    case $1 in
    off) echo ",compressed-write-cache=off" ;;
    on)  echo ",compressed-write-cache=on${CC_SIZE:+,compressed-write-cache-size=$CC_SIZE}" ;;
    *)   echo "" ;;
    esac
}

log "mode $MODE, $ROUNDS measured rounds (warm-up: $WARMUP), variants ${VARIANTS[*]}, work dir $WORK ($FSTYPE on $FSDEV)"

# --- source images, generated once ------------------------------------------
# bench_source_image in common.sh; "mixed" is also tools/bench.sh's image.
src_image() { # MiB -> path
    bench_source_image "$CONTENT" "$CACHE_DIR" "$1" "$IMG" "$WORK"
}


# --- correctness of one run ------------------------------------------------
# verify ROW ROUND VARIANT SRC TGT: stock qemu-img compare and check
verify() {
    local row=$1 round=$2 v=$3 src=$4 tgt=$5 out ok=ok detail=""
    if ! out=$("$IMG" compare -q -f qcow2 -F qcow2 "$src" "$tgt" 2>&1); then
        ok=FAIL; detail="compare: $(tr '\n' ' ' <<<"$out" | cut -c1-300)"
    fi
    if ! out=$("$IMG" check -q -f qcow2 "$tgt" 2>&1); then
        ok=FAIL; detail="$detail check: $(tr '\n' ' ' <<<"$out" | cut -c1-300)"
    fi
    printf '%s\t%s\t%s\t%s\t%s\n' "$row" "$round" "$v" "$ok" "$detail" >> "$VER"
    [ "$ok" = ok ] || note "CORRECTNESS FAILURE: $row round $round, $v: $detail"
}

# "N/M = x% allocated, y% fragmented, z% compressed clusters; end offset E"
check_summary() {
    "$IMG" check -f qcow2 "$1" 2>&1 | awk '
        /compressed clusters/ { s = $0 } /Image end offset/ { e = $NF }
        END { printf "%s; end offset %s\n", s, e }'
}

# host ranges "start end" of the target's data clusters that are stored
# uncompressed (incompressible data: qcow2 writes them as normal clusters)
raw_extents() {
    "$IMG" map --output=json -f qcow2 "$1" | "$PY" -c '
import json, sys
for e in json.load(sys.stdin):
    if e.get("data") and not e.get("compressed") and "offset" in e:
        print(e["offset"], e["offset"] + e["length"])'
}

new_target() { # path MiB
    rm -f "$1"
    "$IMG" create -q -f qcow2 -o "compression_type=$COMPRESSION" "$1" "$2M"
}

# --- command lines ----------------------------------------------------------
# conv_cmd VARIANT SRC TGT [throttle]: fills CMD (the argv without the
# binary) for qemu-img convert.
conv_cmd() {
    local v=$1 src=$2 tgt=$3 thr=${4:-}
    if [ -n "$thr" ]; then
        CMD=(convert -c -t none -f qcow2 -n --object "throttle-group,id=tg0,x-iops-total=$IOPS"
             --target-image-opts "$src"
             "driver=qcow2,file.driver=blkdebug,file.align=$ALIGN,file.image.driver=throttle,file.image.throttle-group=tg0,file.image.file.driver=file,file.image.file.filename=$tgt$(vopts "$v")")
    elif [ "$v" = stock ] || [ "$v" = patched ] || [ "$v" = auto ]; then
        CMD=(convert -c -t none -f qcow2 -O qcow2 -n "$src" "$tgt")
    else
        CMD=(convert -c -t none -f qcow2 -n --target-image-opts "$src"
             "driver=qcow2,file.driver=file,file.filename=$tgt$(vopts "$v")")
    fi
}
show_cmd() { # VARIANT [throttle] -> printable command line
    conv_cmd "$1" SRC TGT "${2:-}"
    echo "qemu-img ${CMD[*]}"
}

TRACE_SET=openat,pread64,pwrite64,preadv,pwritev,preadv2,pwritev2,io_uring_enter,fdatasync,fsync

# Counts the syscalls of an strace -f -y log on one file: JSON on stdout
COUNT_PY='
import json, re, sys
import bisect
log, target, cluster, fsize = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
extents = []
# host ranges of the data clusters stored uncompressed (qemu-img map)
raw = sorted(tuple(map(int, l.split())) for l in open(sys.argv[5]) if l.strip())
raw_starts = [a for a, b in raw]
def in_raw(a, b):
    i = bisect.bisect_right(raw_starts, a) - 1
    return i >= 0 and raw[i][0] <= a and b <= raw[i][1]
IO = ("pread64", "pwrite64", "preadv", "pwritev", "preadv2", "pwritev2")
c = dict(writes=0, writes_full=0, writes_other=0, bytes_written=0, writes_raw_data=0,
         reads_open=0, reads_rmw=0, reads_rmw_bytes=0, reads_failed=0,
         fdatasync=0, io_uring_enter=0, opens_rw=0, opens_rw_direct=0)
pending = {}
written = False
def handle(call):
    global written
    m = re.match(r"(\w+)\((\d+)<([^>]*)>", call)
    name = call.split("(", 1)[0]
    if name == "io_uring_enter":
        c["io_uring_enter"] += 1
        return
    if name == "openat":
        m = re.search(r"= (\d+)<([^>]*)>\s*$", call)
        if m and m.group(2) == target and "O_RDWR" in call:
            c["opens_rw"] += 1
            if "O_DIRECT" in call:
                c["opens_rw_direct"] += 1
        return
    if not m or m.group(3) != target:
        return
    if name in ("fdatasync", "fsync"):
        c["fdatasync"] += 1
        return
    if name not in IO:
        return
    if name.endswith("64"):
        a = re.search(r", (\d+), (\d+)\s*\)\s*= (-?\d+)", call)
    else:
        a = re.search(r"\], \d+, (\d+)(?:, [^)]*)?\s*\)\s*= (-?\d+)", call)
    if not a:
        raise SystemExit("cannot parse: " + call)
    off = int(a.group(a.lastindex - 1))
    ret = int(a.group(a.lastindex))
    if "read" in name:
        if ret < 0:
            c["reads_failed"] += 1
        if written:
            c["reads_rmw"] += 1
            c["reads_rmw_bytes"] += max(ret, 0)
        else:
            c["reads_open"] += 1
    else:
        written = True
        if ret > 0:
            extents.append((off, off + ret))
            if in_raw(off, off + ret):
                c["writes_raw_data"] += 1
        c["writes"] += 1
        c["bytes_written"] += max(ret, 0)
        if ret > 0 and off % cluster == 0 and ret % cluster == 0:
            c["writes_full"] += 1
        else:
            c["writes_other"] += 1
for line in open(log, errors="replace"):
    line = line.rstrip("\n")
    m = re.match(r"(\d+)\s+(.*)", line)
    if not m:
        continue
    pid, rest = m.groups()
    if rest.startswith("<... "):
        r = re.match(r"<\.\.\. \w+ resumed>(.*)", rest)
        if not r or pid not in pending:
            continue
        rest = pending.pop(pid) + r.group(1)
    elif rest.endswith("<unfinished ...>"):
        pending[pid] = rest[:-len("<unfinished ...>")]
        continue
    if rest.startswith(("+++", "---")):
        continue
    handle(rest)
covered, end = 0, 0
for a, b in sorted(extents):
    if b > end:
        covered += b - max(a, end)
        end = b
c["file_size"] = fsize
c["written_extent_bytes"] = covered
c["reads"] = c["reads_open"] + c["reads_rmw"]
c["total"] = c["reads"] + c["writes"]
c["total_no_raw"] = c["total"] - c["writes_raw_data"]
print(json.dumps(c))
'

# --- runners ---------------------------------------------------------------
# run_rounds ROW FUNC: FUNC VARIANT ROUND prints one number (seconds);
# a warm-up round (unless WARMUP=0), then ROUNDS rounds of all variants.
run_rounds() {
    local row=$1 fn=$2 i v val
    for i in $(seq $((1 - WARMUP)) "$ROUNDS"); do
        [ "$i" = 0 ] || note "$row round $i starts at load $(cut -d' ' -f1-3 /proc/loadavg)"
        for v in "${VARIANTS[@]}"; do
            track_build "$row round $i ($([ "$i" = 0 ] && echo warm-up || echo measured)), $v"
            if ! val=$("$fn" "$v" "$i"); then
                note "$row round $i, $v: the run FAILED (no value recorded)"
                continue
            fi
            if [ "$i" = 0 ]; then
                log "$row warm-up $v: $val s"
            else
                log "$row round $i $v: $val s"
                printf '%s\t%s\t%s\t%s\n' "$row" "$i" "$v" "$val" >> "$RES"
            fi
        done
    done
}

# a. convert ---------------------------------------------------------------
conv_once() { # variant round [throttle] -> seconds
    local v=$1 round=$2 thr=${3:-} src tgt rc=0 row=convert mib=$MIB
    if [ -n "$thr" ]; then row=throttle; mib=$TMIB; fi
    src=$(src_image "$mib")
    tgt=$WORK/target.qcow2
    new_target "$tgt" "$mib"
    conv_cmd "$v" "$src" "$tgt" "$thr"
    local TIMEFORMAT='%R %U %S' tm
    { time timeout -k 10 "$RUN_TIMEOUT" "$(vdir "$v")/qemu-img" "${CMD[@]}" >"$WORK/conv.log" 2>&1; } \
        2>"$WORK/time.txt" || rc=$?
    if [ "$rc" != 0 ]; then
        note "$row $v (round $round): qemu-img convert failed ($rc): $(head -c 800 "$WORK/conv.log" | tr '\n' ' ')"
        rm -f "$tgt"
        return 1
    fi
    read -r -a tm < "$WORK/time.txt"
    [ "$round" = 0 ] || printf '%s\t%s\t%s\t%s\n' "$row" "$round" "$v" \
        "$(awk -v u="${tm[1]}" -v s="${tm[2]}" 'BEGIN { printf "%.3f", u + s }')" >> "$CPU"
    verify "$row" "$round" "$v" "$src" "$tgt"
    rm -f "$tgt"
    echo "${tm[0]}"
}
thr_once() { conv_once "$1" "$2" throttle; }

conv_count() { # variant: strace counting run (not timed)
    local v=$1 src tgt tr j
    src=$(src_image "$MIB")
    tgt=$WORK/target.qcow2
    tr=$WORK/strace.log
    new_target "$tgt" "$MIB"
    conv_cmd "$v" "$src" "$tgt"
    if ! timeout -k 10 "$RUN_TIMEOUT" strace -f -y -s 0 -o "$tr" -e trace="$TRACE_SET" \
            "$(vdir "$v")/qemu-img" "${CMD[@]}" >"$WORK/conv.log" 2>&1; then
        note "convert counting run, $v: FAILED: $(head -c 300 "$WORK/conv.log")"
        rm -f "$tgt" "$tr"
        return 0
    fi
    verify convert count "$v" "$src" "$tgt"
    raw_extents "$tgt" > "$WORK/raw.txt"
    j=$("$PY" -c "$COUNT_PY" "$tr" "$(realpath "$tgt")" "$CLUSTER" "$(stat -c %s "$tgt")" "$WORK/raw.txt") ||
        die "counting failed"
    j=$("$PY" -c 'import json,sys; j=json.loads(sys.argv[1]); j["check"]=sys.argv[2]; print(json.dumps(j))' \
        "$j" "$(check_summary "$tgt")")
    printf '%s\t%s\t%s\n' convert "$v" "$j" >> "$CNT"
    log "convert $v: $j"
    rm -f "$tgt" "$tr"
}

# c. backup ----------------------------------------------------------------
BACKUP_PY=$WORK/backup.py
cat > "$BACKUP_PY" <<'PYEOF'
# backup.py QEMU_PYTHON QSD SRC TGT EXTRA RUNDIR TRACE TRACE_SET TIMEOUT
# Starts qemu-storage-daemon (optionally under strace), runs
# blockdev-backup sync=full compress=on, waits for BLOCK_JOB_COMPLETED,
# closes the target (blockdev-del: everything on disk), quits.
# Prints "job_seconds total_seconds".
import os, resource, subprocess, sys, time
qpy, qsd, src, tgt, extra, rundir, trace, trace_set, tmo = sys.argv[1:10]
sys.path.insert(0, qpy)
from qemu.qmp.legacy import QEMUMonitorProtocol

sock = os.path.join(rundir, 'qmp.sock')
pidfile = os.path.join(rundir, 'qsd.pid')
cmd = [qsd,
       '--blockdev', 'driver=file,node-name=src-file,filename=%s,read-only=on' % src,
       '--blockdev', 'driver=qcow2,node-name=src,file=src-file,read-only=on',
       '--blockdev', 'driver=file,node-name=tgt-file,filename=%s,cache.direct=on' % tgt,
       '--blockdev', 'driver=qcow2,node-name=tgt,file=tgt-file,cache.direct=on' + extra,
       '--chardev', 'socket,id=qmp0,path=%s,server=on,wait=off' % sock,
       '--monitor', 'chardev=qmp0',
       '--pidfile', pidfile]
if trace != '-':
    cmd = ['strace', '-f', '-y', '-s', '0', '-o', trace, '-e', 'trace=' + trace_set] + cmd
log = open(os.path.join(rundir, 'qsd.log'), 'w')
p = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
pids = os.path.join(rundir, 'pids')
with open(pids, 'a') as f:
    f.write('%d\n' % p.pid)
qsd_pid = None
ok = False
try:
    deadline = time.monotonic() + 30
    while not (os.path.exists(sock) and os.path.exists(pidfile)):
        if p.poll() is not None or time.monotonic() > deadline:
            sys.exit('qemu-storage-daemon did not start: ' +
                     open(os.path.join(rundir, 'qsd.log')).read()[-1000:])
        time.sleep(0.05)
    time.sleep(0.05)
    qsd_pid = int(open(pidfile).read().strip())
    with open(pids, 'a') as f:
        f.write('%d\n' % qsd_pid)
    qmp = QEMUMonitorProtocol(sock)
    qmp.connect()
    t0 = time.monotonic()
    qmp.cmd('blockdev-backup', **{'job-id': 'job0', 'device': 'src', 'target': 'tgt',
                                   'sync': 'full', 'compress': True})
    deadline = t0 + float(tmo)
    done = None
    while done is None:
        if time.monotonic() > deadline:
            sys.exit('backup timed out')
        if p.poll() is not None:
            sys.exit('qemu-storage-daemon died: ' +
                     open(os.path.join(rundir, 'qsd.log')).read()[-1000:])
        try:
            ev = qmp.pull_event(wait=1.0)
        except Exception:       # asyncio.TimeoutError: nothing yet
            continue
        if ev and ev.get('event') == 'BLOCK_JOB_COMPLETED' and \
                ev['data'].get('device') == 'job0':
            done = ev
    t1 = time.monotonic()
    d = done['data']
    if 'error' in d or d.get('offset') != d.get('len'):
        sys.exit('backup failed: %r' % d)
    qmp.cmd('blockdev-del', **{'node-name': 'tgt'})
    qmp.cmd('blockdev-del', **{'node-name': 'tgt-file'})
    t2 = time.monotonic()
    try:
        qmp.cmd('quit')
    except Exception:
        pass
    try:
        qmp.close()
    except Exception:
        pass
    p.wait(timeout=60)
    ok = True
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    print('%.3f %.3f %.3f' % (t1 - t0, t2 - t0, ru.ru_utime + ru.ru_stime))
except BaseException as e:
    if isinstance(e, SystemExit):
        raise
    import traceback
    tb = traceback.format_exc().strip().split('\n')
    try:
        qlog = open(os.path.join(rundir, 'qsd.log')).read()[-1500:]
    except OSError:
        qlog = ''
    p.poll()
    sys.exit('%s (qemu-storage-daemon: %s; its output: %s)' % (
        tb[-1], 'running' if p.returncode is None else 'exit status %s' % p.returncode,
        qlog.strip() or 'none'))
finally:
    if not ok:
        for pid in (qsd_pid, p.pid):
            if pid:
                try:
                    os.kill(pid, 15)
                except ProcessLookupError:
                    pass
        try:
            p.wait(timeout=10)
        except Exception:
            p.kill()
            p.wait()
    else:
        os.unlink(pids)
PYEOF

backup_run() { # variant round trace(-|path) -> "job total"
    local v=$1 round=$2 trace=$3 src tgt d out
    src=$(src_image "$MIB")
    tgt=$WORK/target.qcow2
    new_target "$tgt" "$MIB"
    d=$(mktemp -d "$WORK/run.XXXXXX")
    if ! out=$("$PY" "$BACKUP_PY" "$QEMU_PYTHON" "$(vdir "$v")/storage-daemon/qemu-storage-daemon" \
            "$src" "$tgt" "$(vopts "$v")" "$d" "$trace" "$TRACE_SET" "$RUN_TIMEOUT" 2>"$d/err"); then
        note "backup $v (round $round): $(tail -c 1500 "$d/err" | tr '\n' ' ')"
        [ -f "$d/pids" ] || rm -rf "$d"
        rm -f "$tgt"
        return 1
    fi
    rm -rf "$d"
    verify backup "$round" "$v" "$src" "$tgt"
    if [ "$trace" != - ]; then
        check_summary "$tgt" > "$WORK/check.txt"
        stat -c %s "$tgt" > "$WORK/size.txt"
        raw_extents "$tgt" > "$WORK/raw.txt"
    fi
    rm -f "$tgt"
    echo "$out"
}
backup_once() { # variant round -> total seconds (job seconds to backup-job row)
    local r job total cpu
    r=$(backup_run "$1" "$2" -) || return 1
    read -r job total cpu <<<"$r"
    if [ "$2" != 0 ]; then
        printf '%s\t%s\t%s\t%s\n' backup-job "$2" "$1" "$job" >> "$RES"
        printf '%s\t%s\t%s\t%s\n' backup "$2" "$1" "$cpu" >> "$CPU"
    fi
    echo "$total"
}
backup_count() {
    local v=$1 tr=$WORK/strace.log j tgt=$WORK/target.qcow2
    if ! backup_run "$v" count "$tr" >/dev/null; then
        note "backup counting run, $v: FAILED"
        rm -f "$tr"
        return 0
    fi
    # backup_run removed the target after the check; the log names its path
    j=$("$PY" -c "$COUNT_PY" "$tr" "$(realpath -m "$tgt")" "$CLUSTER" "$(cat "$WORK/size.txt")" "$WORK/raw.txt") ||
        die "counting failed"
    j=$("$PY" -c 'import json,sys; j=json.loads(sys.argv[1]); j["check"]=sys.argv[2]; print(json.dumps(j))' \
        "$j" "$(cat "$WORK/check.txt")")
    printf '%s\t%s\t%s\n' backup "$v" "$j" >> "$CNT"
    log "backup $v: $j"
    rm -f "$tr"
}

# --- the rows ----------------------------------------------------------------
cmds() { local v; for v in "${VARIANTS[@]}"; do printf '%s: %s\\n' "$v" "$(show_cmd "$v" "${1:-}")"; done; }

if want convert; then
    row_meta convert "qemu-img convert -c -t none, ${MIB} MiB $CONTENT qcow2 -> qcow2 (O_DIRECT target)" \
        notslower "$(cmds)"
    run_rounds convert conv_once
    if [ "$COUNT" = 1 ]; then
        for v in "${COUNT_VARIANTS[@]}"; do track_build "convert counting run, $v"; conv_count "$v"; done
    fi
fi
if want throttle; then
    row_meta throttle "same convert, target behind a throttle node (${IOPS} IOPS total, ${ALIGN}-byte blocks), ${TMIB} MiB $CONTENT image" \
        speedup3 "$(cmds throttle)"
    run_rounds throttle thr_once
fi
if want backup; then
    row_meta backup "backup job, sync=full compress=on, ${MIB} MiB $CONTENT image, until the target is closed" \
        notslower "qemu-storage-daemon + QMP (see below)"
    row_meta backup-job "backup job, sync=full compress=on, ${MIB} MiB: start until BLOCK_JOB_COMPLETED" \
        none "same runs as the row above"
    run_rounds backup backup_once
    if [ "$COUNT" = 1 ]; then
        for v in "${COUNT_VARIANTS[@]}"; do track_build "backup counting run, $v"; backup_count "$v"; done
    fi
fi

# --- report ----------------------------------------------------------------------
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
BUSY_END=$(busy_procs)
track_build "the end of the run (after the last run)"
DATE_END=$(date -u '+%Y-%m-%d %H:%M UTC')
mkdir -p "$(dirname "$OUT")"
export CONTENT COMPRESSION ALIGN
export MODE ROUNDS WARMUP MIB TMIB IOPS CC_SIZE DATE_START DATE_END LOAD_START LOAD_END \
    BUSY_START BUSY_END IDLE_START MAXLOAD SUPPORTED FSTYPE FSDEV TMPBASE STOCK PATCHED TOP \
    CACHE_DIR COUNT TRACE_SET TREE_HEAD
export VARIANTS_STR="${VARIANTS[*]}" COUNT_VARIANTS_STR="${COUNT_VARIANTS[*]}"
"$PY" - "$RES" "$META" "$CNT" "$VER" "$NOTES" "$OUT" "$CPU" <<'PYEOF'
import json, os, re, statistics, subprocess, sys

res_f, meta_f, cnt_f, ver_f, notes_f, out_f, cpu_f = sys.argv[1:8]
E = os.environ
VARIANTS = E['VARIANTS_STR'].split()
SUPPORTED = E['SUPPORTED'] == '1'
VLABEL = {'stock': 'stock', 'off': 'patched, cache off', 'on': 'patched, cache on',
          'patched': 'patched (no cache option)', 'auto': 'patched, no option (auto)'}
COUNT_VARIANTS = E['COUNT_VARIANTS_STR'].split()
OTHERS = [v for v in VARIANTS if v != 'stock']

def lines(path):
    return [l.rstrip('\n').split('\t') for l in open(path) if l.strip()]

meta = lines(meta_f)
vals = {}
for row, rnd, v, x in lines(res_f):
    vals.setdefault(row, {}).setdefault(int(rnd), {})[v] = float(x)
cpus = {}
for row, rnd, v, x in lines(cpu_f):
    cpus.setdefault(row, {}).setdefault(v, []).append(float(x))
counts = {}
for row, v, j in lines(cnt_f):
    counts.setdefault(row, {})[v] = json.loads(j)
ver = lines(ver_f)
notes = [l.strip() for l in open(notes_f) if l.strip()]

def sh(cmd):
    try:
        return subprocess.check_output(cmd, shell=True, text=True, stderr=subprocess.DEVNULL).strip()
    except Exception:
        return '?'

def rel(p):
    top = E['TOP'] + '/'
    return p[len(top):] if p.startswith(top) else p

cpu = '?'
for line in open('/proc/cpuinfo'):
    if line.startswith('model name'):
        cpu = line.split(':', 1)[1].strip()
        break

goals = []   # (goal, measured, verdict)
L = []
w = L.append
w('# Benchmarks: qcow2 compressed write cache')
w('')
w('Generated by `tools/bench-ccache.sh` (%s mode: %s measured round%s%s).' % (
    E['MODE'], E['ROUNDS'], '' if E['ROUNDS'] == '1' else 's', ' after one warm-up round' if E['WARMUP'] == '1' else ', no warm-up'))
w('Do not edit by hand: rerun the script.')
w('')
if not SUPPORTED:
    w('> **The patched build does not know the qcow2 option `compressed-write-cache`**')
    w('> (the cache has not landed in it): only stock and the patched build without')
    w('> the option were run, and no goal is evaluated.')
    w('')
idle = E['IDLE_START'] == 'yes'
w('> Taken %s to %s on a shared 2-core machine; load average %s at the start, %s at the end.' % (
    E['DATE_START'], E['DATE_END'], E['LOAD_START'], E['LOAD_END']))
if idle:
    w('> The machine was idle at the start (1-minute load < %s, no build, test,' % E['MAXLOAD'])
    w('> benchmark or stress process running).')
else:
    w('> **The machine was not idle at the start** (1-minute load >= %s or other' % E['MAXLOAD'])
    w('> work running): the wall-clock rows are indicative only.')
for label, key in (('at the start', 'BUSY_START'), ('at the end', 'BUSY_END')):
    if E.get(key, '').strip():
        w('> Other processes running %s: %s.' % (label, '; '.join(
            '`%s`' % x.strip() for x in E[key].strip().split('\n'))))
w('> The I/O counts come from strace and do not depend on the load.')
w('')
w('## Machine')
w('')
w('| | |')
w('|---|---|')
w('| nproc | %s |' % sh('nproc'))
w('| CPU | %s |' % cpu)
w('| memory | %s |' % sh("awk '/MemTotal/ {printf \"%.1f GiB\", $2/1048576}' /proc/meminfo"))
w('| kernel | %s |' % sh('uname -srvm'))
w('| OS | %s |' % sh('. /etc/os-release && echo $PRETTY_NAME'))
w('| QEMU | 10.2.2 (Debian 1:10.2.2+ds-1); stock = `%s`, patched = `%s` |' % (rel(E['STOCK']), rel(E['PATCHED'])))
w('| patched tree | `build/qemu` at %s; `%s/qemu-img` built %s |' % (
    E['TREE_HEAD'].replace('|', '/'), rel(E['PATCHED']),
    sh("date -u -r '%s/qemu-img' '+%%Y-%%m-%%d %%H:%%M UTC'" % E['PATCHED'])))
dev = E['FSDEV']
blk = os.path.basename(dev)
lbs = sh('cat /sys/class/block/%s/queue/logical_block_size 2>/dev/null || cat /sys/class/block/%s/../queue/logical_block_size' % (blk, blk))
w('| targets | `%s` (%s on %s, logical block size %s bytes), qcow2, 64 KiB clusters, target opened with O_DIRECT |' % (
    E['TMPBASE'], E['FSTYPE'], dev, lbs))
w('| sources | `%s/%s-<N>M-v1.qcow2`, read through the page cache |' % (E['CACHE_DIR'], E['CONTENT']))
w('| targets\' compression_type | %s |' % E['COMPRESSION'])
w('| strace | %s |' % sh('strace -V | head -n 1'))
w('| python | %s |' % sh('/usr/bin/python3 --version'))
if E['CC_SIZE']:
    w('| cache size | `compressed-write-cache-size=%s` |' % E['CC_SIZE'])
else:
    w('| cache size | default (no `compressed-write-cache-size` given) |')
w('')

def med(xs):
    return statistics.median(xs)

# wall clock
w('## Wall clock')
w('')
w('Variants run alternately (%s), seconds, lower is better; median and' % ', '.join(VARIANTS))
w('min-max over the measured rounds; ratio = variant / stock of the same round.')
w('')
hdr = '| row | ' + ' | '.join('%s median (min-max)' % VLABEL[v] for v in VARIANTS)
hdr += ' | ' + ' | '.join('%s / stock per round | median' % VLABEL[v] for v in OTHERS) + ' |'
w(hdr)
w('|' + '---|' * (1 + len(VARIANTS) + 2 * len(OTHERS)))
wall = {}
for row, label, goal, cmd in meta:
    rounds = vals.get(row, {})
    if not rounds:
        continue
    cells = []
    for v in VARIANTS:
        xs = [rounds[r][v] for r in sorted(rounds) if v in rounds[r]]
        cells.append('%.2f (%.2f-%.2f)' % (med(xs), min(xs), max(xs)) if xs else 'n/a')
    rat = {}
    for v in OTHERS:
        rs = [rounds[r][v] / rounds[r]['stock'] for r in sorted(rounds)
              if v in rounds[r] and 'stock' in rounds[r]]
        rat[v] = rs
        cells.append(' '.join('%.3f' % x for x in rs) if rs else 'n/a')
        cells.append('**%.3f**' % med(rs) if rs else 'n/a')
    wall[row] = rat
    w('| %s | %s |' % (label, ' | '.join(cells)))
w('')

if cpus:
    w('CPU time (user + sys of the process: qemu-img, or qemu-storage-daemon with its')
    w('start-up) of the same runs, median seconds; wall time below CPU time / 2')
    w('would mean both cores busy, i.e. a CPU-bound run on this 2-core machine:')
    w('')
    w('| row | ' + ' | '.join('%s: CPU s (wall s)' % VLABEL[v] for v in VARIANTS) + ' |')
    w('|' + '---|' * (1 + len(VARIANTS)))
    for row, label, goal, cmd in meta:
        if row not in cpus:
            continue
        cells = []
        for v in VARIANTS:
            xs = cpus[row].get(v)
            ws = [vals[row][r][v] for r in vals.get(row, {}) if v in vals[row][r]]
            cells.append('%.2f (%.2f)' % (med(xs), med(ws)) if xs and ws else 'n/a')
        w('| %s | %s |' % (label, ' | '.join(cells)))
    w('')

labels = {m[0]: m[1] for m in meta}
if SUPPORTED:
    for row, label, goal, cmd in meta:
        rs = wall.get(row, {}).get('on')
        if goal == 'notslower':
            if rs:
                slower = sum(1 for x in rs if x > 1.0)
                verdict = 'met' if med(rs) <= 1.0 else 'MISSED'
                goals.append(('%s: cache on not slower than stock' % label,
                              'median on/stock %.3f; rounds slower than stock: %d of %d (%s)' % (
                                  med(rs), slower, len(rs), ' '.join('%.3f' % x for x in rs)),
                              verdict))
            else:
                goals.append(('%s: cache on not slower than stock' % label, 'no data', 'NOT MEASURED'))
        elif goal == 'speedup3':
            if rs:
                sp = 1 / med(rs)
                bound = ''
                cs = counts.get('convert', {}).get('stock')
                if cs and cs['writes_raw_data']:
                    # everything passes the throttle: writes and RMW reads
                    # (counted at the file node of the unthrottled convert,
                    # so about the same number); the writes of the clusters
                    # stored uncompressed are the same in every variant
                    bound = ('; limit for this image when I/O-bound: the throttle passes about stock\'s %d '
                             'writes + %d RMW reads vs at least the %d writes of clusters stored '
                             'uncompressed (convert counting run), so at most about %.2fx' % (
                                 cs['writes'], cs['reads_rmw'], cs['writes_raw_data'],
                                 (cs['writes'] + cs['reads_rmw']) / cs['writes_raw_data']))
                goals.append(('%s: cache on >= 3x faster than stock' % label,
                              'median speed-up %.2fx (per round: %s)%s' % (
                                  sp, ' '.join('%.2fx' % (1 / x) for x in rs), bound),
                              'met' if sp >= 3.0 else 'MISSED'))
            else:
                goals.append(('%s: cache on >= 3x faster than stock' % label, 'no data', 'NOT MEASURED'))

# I/O counts
if counts:
    w('## Host I/O operations on the target file (strace, one separate run per variant)')
    w('')
    w('`strace -f -y -e trace=%s` of the whole command;' % E['TRACE_SET'])
    w('the syscalls on the target file\'s fd are counted.  qemu-img convert and the')
    w('storage daemon use aio=threads (the default), so every host I/O on the target')
    w('is one pread64/pwrite64/preadv/pwritev syscall; the io_uring_enter calls that')
    w('strace sees are those of the event loop\'s fd monitoring (util/fdmon-io_uring.c),')
    w('not target I/O: the column "writes cover" is the part of the target file')
    w('(its size after the run) that the counted write syscalls wrote (the rest:')
    w('holes and the unused ends of host clusters that hold compressed clusters).')
    w('"RMW reads" are the reads of the target after its first write: the target')
    w('is new and its metadata is cached, so they are the read-modify-write reads')
    w('of writes not aligned to the O_DIRECT block size.  "Reads at open" are the')
    w('probes and metadata reads of opening the image (including failed alignment')
    w('probes).  "Full-cluster writes" start and end on a 64 KiB boundary.')
    w('"Writes of uncompressed data clusters" are the writes that fall inside a')
    w('data cluster that the target stores uncompressed (`qemu-img map` of the')
    w('target after the run): qcow2 writes a cluster that does not compress (in')
    w('the mixed image, its random third) as a normal cluster, one aligned write,')
    w('in every variant; the next column leaves them out.')
    if 'auto' in COUNT_VARIANTS:
        w('"patched, no option (auto)" is a counting run only: the stock command line')
        w('(no cache option: the default, auto, which should enable the cache because')
        w('the target is opened with O_DIRECT) run with the patched binaries.')
    w('')
    w('| row | variant | I/O ops total | ratio to stock | writes | of which full-cluster | other writes | writes of uncompressed data clusters | I/O ops without those | ratio to stock | RMW reads | reads at open | MiB written | writes cover | fdatasync | target opened O_DIRECT | target after the run (qemu-img check) |')
    w('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|')
    for row in counts:
        st = counts[row].get('stock')
        for v in COUNT_VARIANTS:
            c = counts[row].get(v)
            if not c:
                w('| %s | %s | FAILED |%s' % (row, VLABEL[v], ' |' * 14))
                continue
            ratio = '%.3f (%.2fx fewer)' % (c['total'] / st['total'], st['total'] / c['total']) \
                if st and c['total'] and v != 'stock' else '-'
            od = 'yes' if c['opens_rw'] and c['opens_rw'] == c['opens_rw_direct'] else \
                '**NO** (%d of %d)' % (c['opens_rw_direct'], c['opens_rw'])
            cover = '%.1f%% of %.1f MiB' % (100.0 * c['written_extent_bytes'] / max(c['file_size'], 1),
                                            c['file_size'] / 1048576)
            if c['written_extent_bytes'] < 0.8 * c['file_size']:
                cover = '**%s**' % cover
            ratio2 = '%.3f (%.2fx fewer)' % (c['total_no_raw'] / st['total_no_raw'],
                                             st['total_no_raw'] / c['total_no_raw']) \
                if st and c['total_no_raw'] and v != 'stock' else '-'
            w('| %s | %s | %d | %s | %d | %d | %d | %d | %d | %s | %d | %d | %.1f | %s | %d | %s | %s |' % (
                row, VLABEL[v], c['total'], ratio, c['writes'], c['writes_full'],
                c['writes_other'], c['writes_raw_data'], c['total_no_raw'], ratio2,
                c['reads_rmw'], c['reads_open'],
                c['bytes_written'] / 1048576, cover, c['fdatasync'], od, c.get('check', '')))
    w('')
    if SUPPORTED:
        for row in counts:
            st, on = counts[row].get('stock'), counts[row].get('on')
            name = 'convert' if row == 'convert' else 'backup'
            if not st or not on:
                goals.append(('%s: target I/O ops with the cache on >= 4x fewer than stock' % name,
                              'no data', 'NOT MEASURED'))
                continue
            goals.append(('%s: target I/O ops with the cache on >= 4x fewer than stock' % name,
                          'stock %d, on %d: %.2fx fewer (without the %d/%d writes of data clusters '
                          'stored uncompressed: stock %d, on %d: %.2fx fewer)' % (
                              st['total'], on['total'], st['total'] / on['total'],
                              st['writes_raw_data'], on['writes_raw_data'],
                              st['total_no_raw'], on['total_no_raw'],
                              st['total_no_raw'] / max(on['total_no_raw'], 1)),
                          'met' if on['total'] * 4 <= st['total'] else 'MISSED'))
            goals.append(('%s: zero RMW reads with the cache on' % name,
                          'RMW reads: stock %d, on %d' % (st['reads_rmw'], on['reads_rmw']),
                          'met' if on['reads_rmw'] == 0 else 'MISSED'))

# correctness
nok = sum(1 for x in ver if x[3] == 'ok')
bad = [x for x in ver if x[3] != 'ok']
goals.append(('every run: `qemu-img compare` source/target identical, `qemu-img check` of the target clean',
              '%d of %d runs verified clean (timed, warm-up and counting runs)' % (nok, len(ver)),
              'met' if ver and not bad else ('MISSED' if bad else 'NOT MEASURED')))

w('## Goals')
w('')
w('| goal | measured | |')
w('|---|---|---|')
for g, m, v in goals:
    w('| %s | %s | %s |' % (g, m, '**%s**' % v if v != 'met' else v))
w('')
if bad:
    w('Correctness failures:')
    w('')
    for x in bad:
        w('- %s round %s, %s: %s' % (x[0], x[1], VLABEL.get(x[2], x[2]), x[4]))
    w('')
if notes:
    w('## Notes from the run')
    w('')
    for n in notes:
        w('- ' + n)
    w('')

w('## Commands')
w('')
w('`SRC` is `%s/%s-<N>M-v1.qcow2` (`bench_source_image` in `tools/common.sh`):' % (
    E['CACHE_DIR'], E['CONTENT']))
if E['CONTENT'] == 'mixed':
    w('N MiB of 1 MiB chunks cycling through seeded random data (incompressible),')
    w('zeroes and repetitive text (compressible); the image of `tools/bench.sh` too.')
else:
    w('N MiB of 64 KiB clusters, one in 12 zero, the others repetitive text in')
    w('which 0, 2, 4 or 8 of the 16 4 KiB blocks are seeded random data, so that')
    w('every non-zero cluster is stored compressed, in sizes from a few KiB to')
    w('more than half a cluster.')
w('Every cluster is allocated (`qemu-img convert -S 0 -f raw -O qcow2`).  `TGT`')
w('is a new target on `%s` before every run: `qemu-img create -f qcow2' % E['TMPBASE'])
w('-o compression_type=%s TGT <N>M` (stock qemu-img).' % E['COMPRESSION'])
w('Each run is followed (untimed) by `qemu-img compare -f qcow2 -F qcow2 SRC TGT`')
w('and `qemu-img check -f qcow2 TGT` (stock qemu-img).  Wall time is that of the')
w('command alone (the target is closed, so flushed, when it returns).')
w('')
for row, label, goal, cmd in meta:
    if row == 'backup-job':
        continue
    w('%s:' % label)
    w('')
    w('```')
    for c in cmd.split('\\n'):
        if c:
            w(c)
    w('```')
    w('')
if 'throttle' in labels:
    w('The throttled row models a volume with %s-byte blocks whose every' % E['ALIGN'])
    w('operation costs (network storage): the blkdebug node above the throttle node')
    w('has no rules, only `align=%s`, so the block layer pads unaligned writes there' % E['ALIGN'])
    w('and their read-modify-write reads pass the throttle like the writes do.')
    w('')
if 'backup' in labels:
    w('Backup (`EXTRA` is empty for stock, `,compressed-write-cache=off|on` for the')
    w('patched variants):')
    w('')
    w('```')
    w('qemu-storage-daemon \\')
    w('  --blockdev driver=file,node-name=src-file,filename=SRC,read-only=on \\')
    w('  --blockdev driver=qcow2,node-name=src,file=src-file,read-only=on \\')
    w('  --blockdev driver=file,node-name=tgt-file,filename=TGT,cache.direct=on \\')
    w('  --blockdev driver=qcow2,node-name=tgt,file=tgt-file,cache.direct=on${EXTRA} \\')
    w('  --chardev socket,id=qmp0,path=SOCK,server=on,wait=off --monitor chardev=qmp0')
    w('# QMP (python3, qemu.qmp.legacy from build/qemu/python); the clock starts here:')
    w('{"execute": "blockdev-backup", "arguments": {"job-id": "job0", "device": "src",')
    w('  "target": "tgt", "sync": "full", "compress": true}}')
    w('# ... wait for BLOCK_JOB_COMPLETED (row "start until BLOCK_JOB_COMPLETED")')
    w('{"execute": "blockdev-del", "arguments": {"node-name": "tgt"}}')
    w('{"execute": "blockdev-del", "arguments": {"node-name": "tgt-file"}}')
    w('# the clock stops here (main backup row); then quit')
    w('```')
    w('')
if counts:
    w('Counting runs: the same commands under')
    w('`strace -f -y -s 0 -o LOG -e trace=%s`,' % E['TRACE_SET'])
    w('not timed.')
    w('')
open(out_f, 'w').write('\n'.join(L) + '\n')
print(open(out_f).read())
PYEOF
log "wrote $OUT"
if [ -s "$VER" ] && grep -qv $'\tok\t' "$VER"; then
    die "some runs were not verified clean (see $OUT)"
fi
