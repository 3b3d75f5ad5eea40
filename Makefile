# Patch queue for QEMU's qcow2 driver.  See README.md.
SHELL := /bin/bash
T := tools

.PHONY: all build deps base tree tree-reset patched stock tools test \
        series-iotests check-block checkpatch tsa export check-series demo bench stress

all: build

## The README's first command: everything needed to test the series.
build: deps tree patched stock

deps:
	$(T)/deps.sh
base: deps
	$(T)/fetch-base.sh >/dev/null
tree: base
	$(T)/tree.sh
tree-reset: base
	$(T)/tree.sh --reset
patched: tree
	$(T)/build.sh patched
stock: tree
	$(T)/build.sh stock
# Only the tools the iotests use: a quicker rebuild while editing.
tools: tree
	$(T)/build.sh tools

## The README's second command.
test:
	$(T)/test.sh

series-iotests:
	$(T)/series-iotests.sh run build/patched
check-block:
	$(MAKE) -C build/patched check-block
checkpatch:
	$(T)/checkpatch.sh
tsa:
	$(T)/tsa.sh
# The series' unit tests (multiqueue) built with ThreadSanitizer, in
# build/tsan, run with halt_on_error=1
.PHONY: tsan
tsan: tree
	$(T)/tsan.sh
# The tools built with clang, AddressSanitizer and UndefinedBehaviorSanitizer
# (series and stock, build/asan-*), running the series' iotests, the qcow2
# iotests of check-block and the stress's short mode under the sanitizers;
# fails on a report that only the series has (docs/reliability.md §7).
# Not part of make test (too long); ASAN_QUICK=1 runs only the series'
# iotests; asan-mutate checks that an injected heap overflow is caught
.PHONY: asan asan-mutate
asan: tree
	$(T)/asan.sh
asan-mutate: tree
	$(T)/asan.sh --mutate
export:
	$(T)/export.sh
check-series: base
	$(T)/check-series.sh
demo: stock patched
	$(T)/demo.sh
# Randomized concurrency stress with a shadow model (short mode; see
# tools/stress.sh --help for the soak mode and options)
stress:
	$(T)/stress.sh
# Crash consistency (kill -9) and error injection (blkdebug) modes of the
# stress, short; QEMU's image fuzzer, stock vs patched (docs/reliability.md)
.PHONY: stress-crash stress-inject fuzz
stress-crash:
	$(T)/stress.sh --crash
stress-inject:
	$(T)/stress.sh --inject
fuzz:
	$(T)/fuzz.sh
# Stock vs patched side by side, one Python tool (tools/bench.py, rows in
# tools/qsbench/): the rows of docs/benchmarks.md (whose tables are then
# copied into README.md), instructions per operation against the queue
# depth (docs/benchmarks-qd.md) and multiqueue throughput
# (docs/benchmarks-mq.md); BENCH_QUICK=1, BENCH_QD_QUICK=1 and
# BENCH_MQ_QUICK=1 for smoke runs; make bench-hot, bench-qd and bench-mq
# run one part
.PHONY: bench-hot bench-mq
bench: bench-hot bench-qd bench-mq
bench-hot: stock patched
	$(T)/bench.py hot
	[ -n "$$BENCH_OUT" ] || $(T)/bench.py readme
# qcow2 compressed write cache: stock vs patched cache off/on, O_DIRECT
# target, the mixed image (docs/benchmarks-ccache.md) and the compressible
# one (docs/benchmarks-ccache-compressible-zlib.md, and with zstd the
# convert and throttled rows, docs/benchmarks-ccache-compressible-zstd.md);
# BENCH_CC_QUICK=1 for a smoke run
.PHONY: bench-ccache
bench-ccache: stock patched
	BENCH_CC_CONTENT=mixed $(T)/bench.py ccache
	BENCH_CC_CONTENT=compressible $(T)/bench.py ccache
	BENCH_CC_CONTENT=compressible BENCH_CC_COMPRESSION=zstd \
	    BENCH_CC_ROWS='convert|throttle' BENCH_CC_COUNT=0 $(T)/bench.py ccache
# Instructions per operation against the queue depth, stock vs patched
# (callgrind: allocating writes, 4K rewrite/read, a discard with requests
# in flight, an NBD write/trim mix; docs/benchmarks-qd.md, issue 13);
# BENCH_QD_QUICK=1 for a smoke run
.PHONY: bench-qd
bench-qd: stock patched
	$(T)/bench.py qd
# Requests per second of one qcow2 node driven from 1, 2 and 4 iothreads
# at once (tools/qsbench/mqbench.c, built against each build directory),
# stock vs patched (docs/benchmarks-mq.md)
bench-mq: stock patched
	$(T)/bench.py mq
# Prepare a series for sending with your git identity, in
# build/outgoing/NAME/ (refuses a placeholder identity; checkpatch on every
# patch); SERIES=patches/harden for another exported series
.PHONY: send-prep upstream
SERIES ?= patches
send-prep:
	$(T)/send-prep.sh $(SERIES)
# Apply patches/ to an upstream qemu.git (only read), build the tools and
# run the series' iotests there: make upstream UPSTREAM=/path/to/qemu.git
# [UPSTREAM_REF=master]; report in build/upstream-report.txt
UPSTREAM_REF ?= master
upstream: base
	$(T)/upstream.sh "$(UPSTREAM)" "$(UPSTREAM_REF)"
# The hardening series (patches/harden/, tools/harden.sh): no crash on
# crafted qcow2 images.  Independent of patches/: the base alone, in the
# git worktree build/harden (branch harden), tools in build/harden-build
.PHONY: harden harden-export harden-test harden-checkpatch
harden: tree
	$(T)/harden.sh build
harden-export:
	$(T)/harden.sh export
harden-test: harden
	$(T)/harden.sh test
	[ ! -x build/stock/qemu-io ] || $(T)/harden.sh fail-on-stock
harden-checkpatch:
	$(T)/harden.sh checkpatch
