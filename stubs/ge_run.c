/* ge_run.c -- running a session's graph: RunGraph (at once, host outputs)
 * and RunGraphWithStreamAsync (queued on a stream, outputs in blocks of
 * the stream's allocator), and the output arrays they hand out. */
#include "stub_internal.h"

#include <stdlib.h>
#include <string.h>

/* Validate a run's input tensors against the graph and prepare them:
 * copies, or (async only) block references for inputs whose producer is
 * still queued.  Also infers node shapes. */
static Status prepare_inputs(const char *fn, const GraphDef *g, void **inputs, int count,
                             bool async, WorkIn **out_in, Shape **out_ns)
{
    *out_in = NULL;
    *out_ns = NULL;
    if (count < 0 || (count > 0 && !inputs)) {
        ge_err(fn, "malformed input list (count %d)", count);
        return ACL_ERROR_GE_PARAM_INVALID;
    }
    if (count != g->nin) {
        ge_err(fn, "the graph has %d input(s), %d given", g->nin, count);
        return ACL_ERROR_GE_PARAM_INVALID;
    }
    WorkIn *in = calloc((size_t)(count ? count : 1), sizeof *in);
    Shape *shapes = calloc((size_t)(count ? count : 1), sizeof *shapes);
    Shape *ns = malloc(sizeof *ns * (size_t)(g->nnodes ? g->nnodes : 1));
    Status st = GE_SUCCESS;
    if (!in || !shapes || !ns) {
        ge_err(fn, "out of memory");
        st = ACL_ERROR_GE_MEMORY_ALLOCATION;
    }
    for (int i = 0; !st && i < count; i++) {
        Tensor *t = handle_lookup(fn, inputs[i], H_TENSOR, NULL_CHECKED);
        const Node *d = &g->nodes[g->inputs[i]];
        size_t want;
        if (!t) {
            ge_err(fn, "input %d is not a live tensor", i);
            st = ACL_ERROR_GE_PARAM_INVALID;
            break;
        }
        if (t->dtype != d->dtype || !shape_accepts(&d->shape, &t->shape)) {
            char s1[128], s2[128];
            shape_text(&t->shape, s1, sizeof s1);
            shape_text(&d->shape, s2, sizeof s2);
            ge_err(fn, "input %d: tensor of data type %d shape %s does not match the "
                   "declared data type %d shape %s", i, t->dtype, s1, d->dtype, s2);
            st = ACL_ERROR_GE_PARAM_INVALID;
            break;
        }
        if (!t->has_data || !shape_nbytes(&t->shape, t->dtype, &want) ||
            want != t->nbytes) {
            ge_err(fn, "input %d: tensor has no data of the right size", i);
            st = ACL_ERROR_GE_PARAM_INVALID;
            break;
        }
        in[i].shape = t->shape;
        in[i].dtype = t->dtype;
        in[i].nbytes = t->nbytes;
        shapes[i] = t->shape;
        if (async && t->placement == PLACEMENT_DEVICE && t->blk && t->blk->writers > 0) {
            in[i].blk = t->blk;        /* read when the work runs */
            t->blk->refs++;
            in[i].addr = t->addr;
            in[i].region = t->region;
            continue;
        }
        const uint8_t *src = tensor_bytes(t);
        if (!src) {
            ge_err(fn, "input %d: the tensor's device memory was freed", i);
            st = ACL_ERROR_GE_PARAM_INVALID;
        } else if (!(in[i].copy = malloc(max_sz(t->nbytes, 1)))) {
            ge_err(fn, "out of memory");
            st = ACL_ERROR_GE_MEMORY_ALLOCATION;
        } else if (t->nbytes) {
            memcpy(in[i].copy, src, t->nbytes);
        }
    }
    if (!st)
        st = infer_shapes(fn, g, shapes, ns);
    free(shapes);
    if (st) {
        /* block refs taken above cannot be the last ones: plain decrement */
        for (int i = 0; in && i < count; i++)
            if (in[i].blk)
                in[i].blk->refs--;
        workins_free(in, count, NULL);
        free(ns);
        return st;
    }
    *out_in = in;
    *out_ns = ns;
    return GE_SUCCESS;
}

/* Register a new tensor array (NULL for zero outputs) for the caller. */
static bool outputs_publish(void **arr, size_t n, void ***outputs, size_t *count)
{
    if (n == 0) {
        /* CHOICE: a run with no outputs gives *outputs = NULL, *count = 0 */
        free(arr);
        *outputs = NULL;
        *count = 0;
        return true;
    }
    if (!ptrset_add(&g_tensor_arrays, arr))
        return false;
    g_live[L_TENSOR_ARRAYS]++;
    *outputs = arr;
    *count = n;
    return true;
}

void tensor_array_free_locked(const char *fn, void **tensors)
{
    if (handed_out_take(fn, &g_tensor_arrays, tensors, "a tensor array")) {  /* delete[] */
        free(tensors);
        g_live[L_TENSOR_ARRAYS]--;
    }
}

/* ==========================================================================
 * RunGraph
 * ========================================================================== */

Status session_run_graph_locked(const char *fn, void *session, uint32_t graph_id,
                                void **inputs, int input_count, void ***outputs,
                                size_t *output_count)
{
    Session *s;
    Status st;
    if (!session_ready(fn, session, &s, &st))
        return st;
    if (!outputs || !output_count) {
        ge_err(fn, "outputs or output_count is NULL");
        return GE_GRAPH_PARAM_NULLPTR;
    }
    SessGraph *sg = session_graph(s, graph_id);
    if (!sg)
        return graph_missing(fn, graph_id);
    if (!sg->compiled && !def_compile(fn, sg->def))
        return GE_FAILED;    /* GE_GRAPH_INFERSHAPE_FAILED, which RunGraph maps to FAILED */
    GraphDef *g = sg->def;
    WorkIn *in;
    Shape *ns;
    st = prepare_inputs(fn, g, inputs, input_count, false, &in, &ns);
    if (st)
        return st;
    sg->compiled = true;                  /* RunGraph compiles implicitly */
    int nout = g->nout;
    uint8_t **ind = calloc((size_t)(g->nin ? g->nin : 1), sizeof *ind);
    uint8_t **outd = calloc((size_t)(nout ? nout : 1), sizeof *outd);
    void **arr = calloc((size_t)(nout ? nout : 1), sizeof *arr);
    bool ok = ind && outd && arr;
    for (int i = 0; ok && i < g->nin; i++)
        ind[i] = in[i].copy;
    for (int i = 0; ok && i < nout; i++) {
        size_t nb;
        shape_nbytes(&ns[g->outputs[i]], g->nodes[g->outputs[i]].dtype, &nb);
        ok = (outd[i] = malloc(max_sz(nb, 1))) != NULL;
    }
    if (ok)
        ok = graph_execute(g, ind, ns, outd);
    for (int i = 0; ok && i < nout; i++) {
        const Node *nd = &g->nodes[g->outputs[i]];
        Tensor *t = tensor_new(nd->dtype, nd->format, &ns[g->outputs[i]]);
        if (!t) {
            ok = false;
            break;
        }
        shape_nbytes(&t->shape, t->dtype, &t->nbytes);
        t->has_data = true;
        t->host = outd[i];
        outd[i] = NULL;
        arr[i] = obj_handle(&t->h);
    }
    if (ok)
        ok = outputs_publish(arr, (size_t)nout, outputs, output_count);
    if (!ok) {
        for (int i = 0; arr && i < nout; i++) {
            Tensor *t = arr[i] ? obj_find(arr[i], H_TENSOR) : NULL;
            if (t)
                tensor_free(t, NULL);
        }
        free(arr);
        ge_err(fn, "out of memory");
        st = ACL_ERROR_GE_MEMORY_ALLOCATION;
    }
    for (int i = 0; outd && i < nout; i++)
        free(outd[i]);
    free(outd);
    free(ind);
    workins_free(in, g->nin, NULL);
    free(ns);
    return st;
}

/* ==========================================================================
 * RunGraphWithStreamAsync, in three phases: begin (locked: validate, copy
 * the inputs, pin the allocator), allocate (unlocked: the caller's MallocFn
 * and GetAddrFn), finish (locked: wrap the blocks, make the outputs,
 * enqueue the work).
 * ========================================================================== */

struct AsyncRun {
    const char *fn;
    void *stream;
    void ***outputs;
    size_t *output_count;
    Work *w;
    uint64_t al_id;
    bool is_default;
    MallocFn mfn;
    FreeFn ffn;
    GetAddrFn gfn;
    int nout;
    size_t *nbytes;
    void **blocks;
    void **addrs;
    const char *failed;   /* what the allocator did wrong, or NULL */
};

static void async_run_free(AsyncRun *r)
{
    free(r->nbytes);
    free(r->blocks);
    free(r->addrs);
    free(r);
}

Status session_run_async_begin_locked(const char *fn, AsyncRun **run, void *session,
                                      uint32_t graph_id, void *stream, void **inputs,
                                      int input_count, void ***outputs,
                                      size_t *output_count)
{
    Session *s;
    Status st;
    *run = NULL;
    if (!session_ready(fn, session, &s, &st))
        return st;
    if (!outputs || !output_count) {
        ge_err(fn, "outputs or output_count is NULL");
        return GE_GRAPH_PARAM_NULLPTR;
    }
    SessGraph *sg = session_graph(s, graph_id);
    if (!sg)
        return graph_missing(fn, graph_id);
    if (!stream_lookup(fn, stream)) {
        ge_err(fn, "unknown or destroyed stream %p", stream);
        return ACL_ERROR_GE_PARAM_INVALID;
    }
    Allocator *al = alloc_for_stream((uintptr_t)stream);
    if (!al) {
        ge_err(fn, "no allocator is registered for stream %p", stream);
        return ACL_ERROR_GE_PARAM_INVALID;
    }
    if (!sg->compiled && !def_compile(fn, sg->def))
        return GE_FAILED;    /* RunGraphWithStreamAsync maps every failure to FAILED */
    AsyncRun *r = calloc(1, sizeof *r);
    Work *w = calloc(1, sizeof *w);
    if (!r || !w) {
        free(r);
        free(w);
        ge_err(fn, "out of memory");
        return ACL_ERROR_GE_MEMORY_ALLOCATION;
    }
    w->type = W_GRAPH;
    st = prepare_inputs(fn, sg->def, inputs, input_count, true, &w->in, &w->ns);
    if (st) {
        free(w);
        free(r);
        return st;
    }
    w->def = def_ref(sg->def);
    w->nin = w->def->nin;
    sg->compiled = true;
    int nout = w->def->nout;
    r->nbytes = calloc((size_t)(nout ? nout : 1), sizeof *r->nbytes);
    r->blocks = calloc((size_t)(nout ? nout : 1), sizeof *r->blocks);
    r->addrs = calloc((size_t)(nout ? nout : 1), sizeof *r->addrs);
    if (!r->nbytes || !r->blocks || !r->addrs) {
        ge_err(fn, "out of memory");
        work_free(w, deferred());
        async_run_free(r);
        return ACL_ERROR_GE_MEMORY_ALLOCATION;
    }
    for (int i = 0; i < nout; i++) {
        int k = w->def->outputs[i];
        shape_nbytes(&w->ns[k], w->def->nodes[k].dtype, &r->nbytes[i]);
    }
    al->refs++;                  /* keeps the allocator alive during the call */
    r->fn = fn;
    r->stream = stream;
    r->outputs = outputs;
    r->output_count = output_count;
    r->w = w;
    r->al_id = al->id;
    r->is_default = al->is_default;
    r->mfn = al->mfn;
    r->ffn = al->ffn;
    r->gfn = al->gfn;
    r->nout = nout;
    *run = r;
    return GE_SUCCESS;
}

static bool device_range_live_locked(const void *addr, size_t nbytes)
{
    return region_holding(&g_dev, addr, nbytes) != NULL;
}

/* Ask the caller's allocator for a block per output, in output order; on
 * the first bad answer, give back every block already had. */
void session_run_async_allocate_unlocked(AsyncRun *r)
{
    int had = 0;
    for (int i = 0; !r->is_default && i < r->nout; i++) {
        atomic_fetch_add(&g_cb_count[CB_MALLOC], 1);
        r->blocks[i] = r->mfn(NULL, max_sz(r->nbytes[i], 1));
        if (!r->blocks[i]) {
            r->failed = "a NULL block";
            break;
        }
        had = i + 1;
        atomic_fetch_add(&g_cb_count[CB_GET_ADDR], 1);
        r->addrs[i] = r->gfn(r->blocks[i]);
        if (!r->addrs[i]) {
            r->failed = "a NULL address";
            break;
        }
        ge_stub_enter();
        bool inside = device_range_live_locked(r->addrs[i], r->nbytes[i]);
        ge_stub_leave();
        if (!inside) {
            r->failed = "an address outside device memory";
            break;
        }
    }
    for (int i = 0; r->failed && i < had; i++) {
        atomic_fetch_add(&g_cb_count[CB_FREE], 1);
        r->ffn(NULL, r->blocks[i]);
    }
}

/* Wrap the blocks, check their addresses, create the output tensors and
 * enqueue the work.  On failure every block is released (FreeFn deferred
 * into cb). */
static Status async_outputs(AsyncRun *r, Allocator *al, CbList *cb)
{
    const char *fn = r->fn;
    Work *w = r->w;
    int nout = r->nout;
    Status st = GE_SUCCESS;
    ABlock **ob = calloc((size_t)(nout ? nout : 1), sizeof *ob);
    void **arr = calloc((size_t)(nout ? nout : 1), sizeof *arr);
    if (!ob || !arr) {
        for (int i = 0; !al->is_default && i < nout; i++)
            alloc_hand_back(al, r->blocks[i], cb);
        free(ob);
        free(arr);
        ge_err(fn, "out of memory");
        return ACL_ERROR_GE_MEMORY_ALLOCATION;
    }
    for (int i = 0; i < nout; i++) {
        if (al->is_default) {                  /* built-in: a device block */
            Region nr;
            if (st)
                continue;
            if (region_alloc(&g_dev, r->nbytes[i], R_DEFAULT, &nr) == RA_OK &&
                !(ob[i] = ablock_new(al, nr.base, nr.base, r->nbytes[i], nr.id)))
                region_release(&g_dev, region_by_id(&g_dev, nr.id));
            if (!ob[i]) {
                ge_err(fn, "the default allocator could not allocate %zu bytes",
                       r->nbytes[i]);
                st = GE_GRAPH_MALLOC_FAILED;
            }
            continue;
        }
        Region *rg = region_holding(&g_dev, r->addrs[i], r->nbytes[i]);
        ob[i] = ablock_new(al, r->blocks[i], r->addrs[i], r->nbytes[i], rg ? rg->id : 0);
        if (!ob[i])
            alloc_hand_back(al, r->blocks[i], cb);     /* cannot track it: free it */
        if (!st && (!ob[i] || !rg)) {
            ge_err(fn, "output %d: block address %p+%zu is not inside one live device "
                   "block", i, r->addrs[i], r->nbytes[i]);
            st = GE_GRAPH_MALLOC_FAILED;
        }
    }
    Stream *sm = stream_find(r->stream);
    if (!st && !sm) {
        ge_err(fn, "stream %p was destroyed during the call", r->stream);
        st = ACL_ERROR_GE_PARAM_INVALID;
    }
    for (int i = 0; !st && i < nout; i++) {
        int k = w->def->outputs[i];
        const Node *nd = &w->def->nodes[k];
        Tensor *t = tensor_new(nd->dtype, nd->format, &w->ns[k]);
        if (!t) {
            ge_err(fn, "out of memory");
            st = ACL_ERROR_GE_MEMORY_ALLOCATION;
            break;
        }
        t->placement = PLACEMENT_DEVICE;
        t->has_data = true;
        t->nbytes = r->nbytes[i];
        t->addr = ob[i]->addr;
        t->region = ob[i]->region;
        t->blk = ob[i];
        ob[i]->refs++;                          /* the tensor's reference */
        arr[i] = obj_handle(&t->h);
    }
    if (!st && !outputs_publish(arr, (size_t)nout, r->outputs, r->output_count)) {
        ge_err(fn, "out of memory");
        st = ACL_ERROR_GE_MEMORY_ALLOCATION;
    }
    if (st) {
        for (int i = 0; arr && i < nout; i++) {
            Tensor *t = arr[i] ? obj_find(arr[i], H_TENSOR) : NULL;
            if (t)
                tensor_free(t, cb);
        }
        for (int i = 0; ob && i < nout; i++)
            if (ob[i])
                ablock_unref(ob[i], cb);
        free(ob);
        free(arr);
        return st;
    }
    for (int i = 0; i < nout; i++)
        ob[i]->writers++;                       /* the work's reference */
    w->out = ob;
    w->nout = nout;
    stream_push(sm, w);
    return GE_SUCCESS;
}

Status session_run_async_finish_locked(AsyncRun *r)
{
    CbList *cb = deferred();
    Status st;
    Allocator *al = alloc_by_id(r->al_id);
    if (r->failed || !al) {
        ge_err(r->fn, "the allocator of stream %p returned %s", r->stream,
               r->failed ? r->failed : "nothing (it was reset)");
        st = GE_GRAPH_MALLOC_FAILED;
        work_free(r->w, cb);
    } else {
        st = async_outputs(r, al, cb);
        if (st)
            work_free(r->w, cb);
    }
    if (al)
        alloc_unref(al, cb);
    async_run_free(r);
    return st;
}
