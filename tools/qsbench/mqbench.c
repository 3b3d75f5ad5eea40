/*
 * One qcow2 node driven from several iothreads at once, for the
 * multiqueue row of tools/bench.py mq (tools/qsbench/mq.py).
 *
 * Copyright (c) 2026 The QEMU qcow2 in-flight series authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * QEMU 10.2 has no export that spreads one block node over several
 * iothreads (only virtio-blk's iothread-vq-mapping does, which needs a
 * guest), but its block layer takes requests from any thread: this
 * program does what such a device does.  It opens the image with one
 * BlockBackend in the main loop, starts IOTHREADS iothreads, and runs
 * QD coroutines in each that send 4K requests to the node until SECONDS
 * have passed (or, for "alloc", until MAX requests were sent), so that
 * requests of different threads are in qcow2 at the same time, contend
 * for s->lock and, in the series, for its in-flight counters.
 *
 * mq.py compiles this file against the build directory of stock and of
 * the series with the flags of a unit test of that build (it uses the
 * same public API as tests/unit), links it with the same libraries, and
 * runs the two in turns.
 *
 * Usage: mqbench IMAGE rewrite|read|alloc IOTHREADS QD SECONDS MAX
 *   rewrite, read: 4K random requests over the whole image, whose
 *                  clusters the caller has all written
 *   alloc:         4K writes, each into a new 64K cluster of the
 *                  coroutine's own part of an empty image
 * Prints one JSON object: requests, seconds, cpu_seconds (the process's
 * user + system time during the run), per_thread (requests of each
 * iothread), errors.
 */

#include "qemu/osdep.h"
#include <sys/resource.h>
#include "block/block.h"
#include "system/block-backend.h"
#include "qapi/error.h"
#include "qobject/qdict.h"
#include "qemu/coroutine.h"
#include "qemu/cutils.h"
#include "qemu/main-loop.h"
#include "qemu/memalign.h"
#include "iothread.h"

#define REQ_SIZE 4096
#define CLUSTER (64 * 1024)

enum { RW_REWRITE, RW_READ, RW_ALLOC };

typedef struct Bench {
    BlockBackend *blk;
    int mode;
    int64_t size;
    int64_t deadline_us;
    int64_t max_requests;
    int64_t region;             /* alloc: bytes per coroutine */
    int64_t started;            /* requests started (for the cap) */
    int workers_done;
    int errors;
} Bench;

typedef struct Worker {
    Bench *b;
    int index;
    uint64_t rng;
    uint64_t requests;
    uint8_t *buf;
} Worker;

static uint64_t next_rng(Worker *w)
{
    /* xorshift64*: the same sequence for both builds */
    w->rng ^= w->rng >> 12;
    w->rng ^= w->rng << 25;
    w->rng ^= w->rng >> 27;
    return w->rng * 0x2545f4914f6cdd1dULL;
}

static void coroutine_fn worker_entry(void *opaque)
{
    Worker *w = opaque;
    Bench *b = w->b;
    int64_t nb_blocks = b->size / REQ_SIZE;
    int64_t next_alloc = 0;

    while (g_get_monotonic_time() < b->deadline_us) {
        int64_t offset;
        int ret;

        if (b->max_requests &&
            qatomic_fetch_inc(&b->started) >= b->max_requests) {
            break;
        }
        switch (b->mode) {
        case RW_ALLOC:
            offset = w->index * b->region + next_alloc;
            next_alloc += CLUSTER;
            if (next_alloc > b->region) {
                goto out;
            }
            ret = blk_co_pwrite(b->blk, offset, REQ_SIZE, w->buf, 0);
            break;
        case RW_READ:
            offset = (next_rng(w) % nb_blocks) * REQ_SIZE;
            ret = blk_co_pread(b->blk, offset, REQ_SIZE, w->buf, 0);
            break;
        default:
            offset = (next_rng(w) % nb_blocks) * REQ_SIZE;
            ret = blk_co_pwrite(b->blk, offset, REQ_SIZE, w->buf, 0);
            break;
        }
        if (ret < 0) {
            qatomic_inc(&b->errors);
            break;
        }
        w->requests++;
    }
out:
    qatomic_inc(&b->workers_done);
}

static double cpu_seconds(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
           (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

int main(int argc, char **argv)
{
    Bench b = { 0 };
    QDict *options;
    IOThread **iothreads;
    Worker *workers;
    int nb_iothreads, qd, seconds, nb_workers;
    int64_t t0, t1;
    double cpu0, cpu1;
    GString *out;

    if (argc != 7) {
        fprintf(stderr, "usage: %s IMAGE rewrite|read|alloc IOTHREADS QD "
                "SECONDS MAX\n", argv[0]);
        return 2;
    }
    if (!strcmp(argv[2], "rewrite")) {
        b.mode = RW_REWRITE;
    } else if (!strcmp(argv[2], "read")) {
        b.mode = RW_READ;
    } else if (!strcmp(argv[2], "alloc")) {
        b.mode = RW_ALLOC;
    } else {
        fprintf(stderr, "unknown workload %s\n", argv[2]);
        return 2;
    }
    if (qemu_strtoi(argv[3], NULL, 0, &nb_iothreads) < 0 ||
        nb_iothreads < 1 || nb_iothreads > 64 ||
        qemu_strtoi(argv[4], NULL, 0, &qd) < 0 || qd < 1 || qd > 1024 ||
        qemu_strtoi(argv[5], NULL, 0, &seconds) < 0 || seconds < 1 ||
        qemu_strtoi64(argv[6], NULL, 0, &b.max_requests) < 0 ||
        b.max_requests < 0) {
        fprintf(stderr, "bad IOTHREADS, QD, SECONDS or MAX\n");
        return 2;
    }

    bdrv_init();
    qemu_init_main_loop(&error_abort);

    options = qdict_new();
    qdict_put_str(options, "driver", "qcow2");
    qdict_put_str(options, "file.driver", "file");
    qdict_put_str(options, "file.filename", argv[1]);
    qdict_put_str(options, "file.aio", "threads");
    b.blk = blk_new_open(NULL, NULL, options, BDRV_O_RDWR, &error_abort);
    b.size = blk_getlength(b.blk);
    g_assert(b.size >= REQ_SIZE);

    nb_workers = nb_iothreads * qd;
    b.region = QEMU_ALIGN_DOWN(b.size / nb_workers, CLUSTER);
    iothreads = g_new(IOThread *, nb_iothreads);
    for (int t = 0; t < nb_iothreads; t++) {
        iothreads[t] = iothread_new();
    }
    workers = g_new0(Worker, nb_workers);
    for (int i = 0; i < nb_workers; i++) {
        workers[i] = (Worker) {
            .b = &b,
            .index = i,
            .rng = 0x9e3779b97f4a7c15ULL * (i + 1),
            .buf = blk_blockalign(b.blk, REQ_SIZE),
        };
        memset(workers[i].buf, 0x5a ^ i, REQ_SIZE);
    }

    cpu0 = cpu_seconds();
    t0 = g_get_monotonic_time();
    b.deadline_us = t0 + (int64_t)seconds * G_USEC_PER_SEC;
    for (int i = 0; i < nb_workers; i++) {
        AioContext *ctx = iothread_get_aio_context(iothreads[i %
                                                             nb_iothreads]);
        aio_co_enter(ctx, qemu_coroutine_create(worker_entry, &workers[i]));
    }
    while (qatomic_read(&b.workers_done) < nb_workers) {
        aio_poll(qemu_get_aio_context(), false);
        g_usleep(1000);
    }
    t1 = g_get_monotonic_time();
    cpu1 = cpu_seconds();
    for (int t = 0; t < nb_iothreads; t++) {
        iothread_join(iothreads[t]);
    }

    out = g_string_new("{\"requests\": ");
    {
        uint64_t total = 0;

        for (int i = 0; i < nb_workers; i++) {
            total += workers[i].requests;
        }
        g_string_append_printf(out, "%" PRIu64, total);
    }
    g_string_append_printf(out, ", \"seconds\": %.6f, \"cpu_seconds\": %.6f"
                           ", \"errors\": %d, \"per_thread\": [",
                           (t1 - t0) / 1e6, cpu1 - cpu0, b.errors);
    for (int t = 0; t < nb_iothreads; t++) {
        uint64_t n = 0;

        for (int i = t; i < nb_workers; i += nb_iothreads) {
            n += workers[i].requests;
        }
        g_string_append_printf(out, "%s%" PRIu64, t ? ", " : "", n);
    }
    g_string_append(out, "]}");
    printf("%s\n", out->str);
    g_string_free(out, true);

    for (int i = 0; i < nb_workers; i++) {
        qemu_vfree(workers[i].buf);
    }
    blk_unref(b.blk);
    return b.errors ? 1 : 0;
}
