/* The device as a run sees it before any case: calibration of its ceilings, --calibrate, and the
 * probe an isolated run's parent asks of a child. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "isolate.h"
#include "runner.h"
#include "util.h"

void run_calibrate(attn_device_t *d)
{
    char err[512];
    const double t0 = attn_now();
    if (attn_gpu_calibrate(d, err, sizeof err))
        fprintf(stderr, "attnbench: calibration failed, rows carry no pct_peak/pct_bw: %s\n", err);
    else
        fprintf(stderr, "calibration: device-to-device copy %.1f GB/s (read + write), bf16 cuBLAS "
                        "GEMM %.1f TFLOP/s (%.1f s)\n",
                d->peak_gbps, d->peak_tflops, attn_now() - t0);
}

int run_calibrate_main(run_t *r)
{
    if (attn_gpu_open(&r->dev, r->o.device)) {
        fprintf(stderr, "attnbench: --calibrate: %s\n", r->dev.reason);
        return 1;
    }
    run_calibrate(&r->dev);
    attn_gpu_close();
    if (!(r->dev.peak_gbps > 0)) return 1;
    printf("device=%s\nsm=%d\npeak_gbps=%.1f\npeak_tflops=%.1f\n", r->dev.name, r->dev.sm,
           r->dev.peak_gbps, r->dev.peak_tflops);
    return 0;
}

static int probe_child(void *arg, int fd)
{
    const run_t *r = arg;
    attn_device_t d;
    if (attn_gpu_open(&d, r->o.device) == 0 && r->calibrate) run_calibrate(&d);
    return attn_msg_send(fd, 'D', 0, &d, sizeof d) ? 1 : 0;
}

void run_probe_device(run_t *r)
{
    memset(&r->dev, 0, sizeof r->dev);
    attn_child_t ch;
    if (attn_child_start(&ch, probe_child, r)) {
        snprintf(r->dev.reason, sizeof r->dev.reason, "cannot start the device probe: %s",
                 strerror(errno));
        return;
    }
    attn_msg_t m;
    int k, got = 0;
    while ((k = attn_child_next(&ch, r->o.timeout, &m)) != ATTN_CHILD_END) {
        if (k == ATTN_CHILD_TIMEOUT) attn_child_kill(&ch);
        if (k == ATTN_CHILD_MSG && m.type == 'D' && m.len == sizeof r->dev) {
            memcpy(&r->dev, m.text, sizeof r->dev);
            got = 1;
        }
    }
    char how[160];
    if (!got)
        snprintf(r->dev.reason, sizeof r->dev.reason, "the device probe %s",
                 ch.killed ? "hung (killed after --timeout)" : attn_child_status_str(&ch, how, sizeof how));
    attn_child_free(&ch);
}
