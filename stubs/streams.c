/* streams.c -- streams are FIFO queues of work (async copies, graph runs)
 * that run, in order, in aclrtSynchronizeStream and aclrtDestroyStream. */
#include "stub_internal.h"

#include <stdlib.h>
#include <string.h>

static Stream g_default_stream;     /* the NULL stream: ACL's default stream */

Stream *stream_lookup(const char *fn, void *stream)
{
    return stream ? handle_lookup(fn, stream, H_STREAM, NULL_ALLOWED) : &g_default_stream;
}

Stream *stream_find(void *stream)
{
    return stream ? obj_find(stream, H_STREAM) : &g_default_stream;
}

void stream_push(Stream *s, Work *w)
{
    w->next = NULL;
    if (s->tail)
        s->tail->next = w;
    else
        s->head = w;
    s->tail = w;
    s->n++;
    g_live[L_PENDING_WORK]++;
}

void workins_free(WorkIn *in, int n, CbList *cb)
{
    for (int i = 0; in && i < n; i++) {
        free(in[i].copy);
        if (in[i].blk && cb)
            ablock_unref(in[i].blk, cb);
    }
    free(in);
}

/* Release a work item and everything it holds.  With cb == NULL (Reset)
 * blocks are not touched. */
void work_free(Work *w, CbList *cb)
{
    if (w->type == W_GRAPH) {
        workins_free(w->in, w->nin, cb);
        for (int i = 0; cb && w->out && i < w->nout; i++) {
            if (!w->out[i])
                continue;
            w->out[i]->writers--;
            ablock_unref(w->out[i], cb);
        }
        free(w->out);
        free(w->ns);
        def_unref(w->def);
    }
    free(w);
}

/* Run one work item; false when it had to be skipped. */
static bool work_run(Work *w)
{
    if (w->type == W_MEMCPY) {
        if ((w->dst_region && !region_by_id(&g_dev, w->dst_region)) ||
            (w->src_region && !region_by_id(&g_dev, w->src_region)) ||
            (w->dst_host && !region_by_id(&g_hostmem, w->dst_host)) ||
            (w->src_host && !region_by_id(&g_hostmem, w->src_host)))
            return false;
        if (w->count)
            memmove(w->dst, w->src, w->count);
        return true;
    }
    uint8_t **ind = calloc((size_t)(w->nin ? w->nin : 1), sizeof *ind);
    uint8_t **tmp = calloc((size_t)(w->nin ? w->nin : 1), sizeof *tmp);
    uint8_t **outd = calloc((size_t)(w->nout ? w->nout : 1), sizeof *outd);
    bool ok = ind && tmp && outd;
    for (int i = 0; ok && i < w->nin; i++) {
        if (!w->in[i].blk) {
            ind[i] = w->in[i].copy;
            continue;
        }
        if (!region_by_id(&g_dev, w->in[i].region) ||
            !(tmp[i] = malloc(max_sz(w->in[i].nbytes, 1)))) {
            ok = false;
            break;
        }
        if (w->in[i].nbytes)
            memcpy(tmp[i], w->in[i].addr, w->in[i].nbytes);
        ind[i] = tmp[i];
    }
    for (int i = 0; ok && i < w->nout; i++) {
        if (!region_by_id(&g_dev, w->out[i]->region))
            ok = false;
        else
            outd[i] = w->out[i]->addr;
    }
    if (ok)
        ok = graph_execute(w->def, ind, w->ns, outd);
    for (int i = 0; tmp && i < w->nin; i++)
        free(tmp[i]);
    free(tmp);
    free(ind);
    free(outd);
    return ok;
}

int stream_drain(Stream *s, CbList *cb)
{
    int skipped = 0;
    while (s->head) {
        Work *w = s->head;
        s->head = w->next;
        if (!s->head)
            s->tail = NULL;
        s->n--;
        g_live[L_PENDING_WORK]--;
        if (!work_run(w))
            skipped++;
        work_free(w, cb);
    }
    return skipped;
}

void stream_clear_silent(Stream *s)
{
    while (s->head) {
        Work *w = s->head;
        s->head = w->next;
        work_free(w, NULL);
    }
    s->tail = NULL;
    s->n = 0;
}

void streams_reset(void)
{
    stream_clear_silent(&g_default_stream);
}
