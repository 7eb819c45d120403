/* ge_run.c -- running a session's graph: RunGraph (at once, host outputs),
 * RunGraphWithStreamAsync (queued on a stream, padded device outputs) and
 * LoadGraph (ABI.md section 9), and the output arrays they hand out.
 *
 * After hicann/ge api/python/ge/ge_api_c_wrapper/c_session.cc (the NULL
 * checks, *outputs = NULL first, VecTensorToArray), api/session/client/
 * ge_api.cc (Session::RunGraph passes codes up to 9,999,999 and maps larger
 * ones to FAILED, RunGraphWithStreamAsync and LoadGraph collapse every
 * failure to FAILED, CheckCompiledFlag), compiler/graph/manager/
 * graph_manager.cc (RunGraphWithStreamAsync compiles and loads on first use,
 * LoadGraph refuses a second load) and runtime/v1/graph/load/model_manager/
 * model_manager.cc (MallocOutputsMemory: the stream's allocator, else GE's
 * own memory, asked for CalcTensorSizeByShape's padded size;
 * ExternalAllocatorMalloc: const and feature-map memory from the stream's
 * allocator when a graph is loaded, freed when it is unloaded). */
#include "stub_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* CHOICE: the sizes GE asks for a loaded graph's own memory (GE computes
 * them when it compiles the graph): const memory 512 bytes; feature-map
 * memory one page plus every op's padded output (unknown dims count as 1). */
#define CONST_MEMORY_BYTES 512
#define FEATURE_MEMORY_PAGE 4096

#define EXTERNAL_CODE_MAX 9999999u   /* ge_api.cc kExternalErrorCodeMaxValue */

/* Session::RunGraph's return value for a failure `st` of the graph manager. */
static Status run_graph_status(Status st)
{
    return st > EXTERNAL_CODE_MAX ? GE_FAILED : st;
}

/* The wrapper's checks of a run's arguments (c_session.cc), in its order:
 * session, [stream,] inputs, outputs, tensor_num (GE_ASSERT_NOTNULL:
 * PARAM_INVALID), then *outputs = NULL and *tensor_num = 0, then every
 * input (NULL: PARAM_INVALID; a dead tensor is copied: a crash). */
static Status run_args_check(const char *fn, void *session, bool async, void *stream,
                             void **inputs, int count, void ***outputs, size_t *tensor_num,
                             Session **s)
{
    *s = handle_lookup(fn, session, H_SESSION, NULL_CHECKED);
    const char *null = !session             ? "session"
                       : async && !stream   ? "stream"
                       : !inputs            ? "inputs"
                       : !outputs           ? "outputs"
                       : !tensor_num        ? "tensor_num"
                                            : NULL;
    if (null) {
        ge_err(fn, "Assert ((%s) != nullptr) failed", null);
        return GE_PARAM_INVALID;
    }
    *outputs = NULL;
    *tensor_num = 0;
    for (int i = 0; i < count; i++) {
        if (!inputs[i]) {
            ge_err(fn, "Assert ((inputs[i]) != nullptr) failed");
            return GE_PARAM_INVALID;
        }
        (void)handle_lookup(fn, inputs[i], H_TENSOR, NULL_CHECKED);
    }
    return GE_SUCCESS;
}

/* Validate a run's input tensors against the graph and prepare them:
 * copies, or (async only) block references for inputs whose producer is
 * still queued.  Also infers node shapes.  A failure is the graph manager's
 * PARAM_INVALID (after a report). */
static Status prepare_inputs(const char *fn, const GraphDef *g, void **inputs, int count,
                             bool async, WorkIn **out_in, Shape **out_ns)
{
    *out_in = NULL;
    *out_ns = NULL;
    if (count < 0 || count != g->nin) {
        ge_err(fn, "the graph has %d input(s), %d given", g->nin, count);
        return GE_PARAM_INVALID;
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
        Tensor *t = obj_find(inputs[i], H_TENSOR);
        const Node *d = &g->nodes[g->inputs[i]];
        size_t want;
        if (!t) {
            ge_err(fn, "input %d is not a live tensor", i);
            st = GE_PARAM_INVALID;
            break;
        }
        if (t->dtype != d->dtype || !shape_accepts(&d->shape, &t->shape)) {
            char s1[128], s2[128];
            shape_text(&t->shape, s1, sizeof s1);
            shape_text(&d->shape, s2, sizeof s2);
            ge_err(fn, "input %d: tensor of data type %d shape %s does not match the "
                   "declared data type %d shape %s", i, t->dtype, s1, d->dtype, s2);
            st = GE_PARAM_INVALID;
            break;
        }
        /* storage may be larger than the shape needs (padded outputs) */
        if (!t->has_data || !shape_nbytes(&t->shape, t->dtype, &want) || t->nbytes < want) {
            ge_err(fn, "input %d: tensor has no data of the right size", i);
            st = GE_PARAM_INVALID;
            break;
        }
        in[i].shape = t->shape;
        in[i].dtype = t->dtype;
        in[i].nbytes = want;
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
            st = GE_PARAM_INVALID;
        } else if (!(in[i].copy = malloc(max_sz(want, 1)))) {
            ge_err(fn, "out of memory");
            st = ACL_ERROR_GE_MEMORY_ALLOCATION;
        } else if (want) {
            memcpy(in[i].copy, src, want);
        }
    }
    if (!st && (st = infer_shapes(fn, g, shapes, ns)))
        st = GE_PARAM_INVALID;
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

/* Hand the tensors to the caller as `new Tensor*[n]` (non-NULL for n = 0).
 * VecTensorToArray sets *tensor_num first; when building the array fails
 * (`array_fault`: an injected fault with status SUCCESS) the call still
 * succeeds, with *outputs NULL: the tensors die with the wrapper's vector. */
static bool outputs_publish(void **arr, size_t n, bool array_fault, void ***outputs,
                            size_t *count, CbList *cb)
{
    *count = n;
    if (array_fault || !ptrset_add(&g_tensor_arrays, arr)) {
        for (size_t i = 0; i < n; i++) {
            Tensor *t = arr[i] ? obj_find(arr[i], H_TENSOR) : NULL;
            if (t)
                tensor_free(t, cb);
        }
        free(arr);
        *outputs = NULL;
        return array_fault;
    }
    g_live[L_TENSOR_ARRAYS]++;
    *outputs = arr;
    return true;
}

/* delete[] tensors (c_session.cc): NULL does nothing; a pointer the library
 * did not hand out (or already freed) is what CANN would crash on: strict
 * mode aborts, tidy mode reports it. */
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

/* Session::RunGraph after the inner session: CheckCompiledFlag (an unknown
 * id: GE_GRAPH_GRAPH_NOT_EXIST; compiled by CompileGraph: UNSUPPORTED, both
 * with E10062), then the graph manager's run. */
static SessGraph *run_graph_target(const char *fn, InnerSession *in, uint32_t graph_id,
                                   Status *st)
{
    SessGraph *sg = session_graph(in, graph_id);
    if (!sg) {
        ge_err_code(fn, "E10062", "call RunGraph: the graph (graph_id=%" PRIu32
                    ") does not exist", graph_id);
        *st = GE_GRAPH_GRAPH_NOT_EXIST;
    } else if (sg->compile_api) {
        ge_err_code(fn, "E10062", "call RunGraph: the graph (graph_id=%" PRIu32 ") was "
                    "compiled by CompileGraph; run it with LoadGraph and "
                    "RunGraphWithStreamAsync", graph_id);
        *st = GE_UNSUPPORTED;
    } else {
        return sg;
    }
    ge_err(fn, "Run graph failed, incompatible with API CompileGraph, graph_id=%" PRIu32,
           graph_id);
    return NULL;
}

/* The outputs of a finished run as new host tensors (exact sizes). */
static Status host_outputs(const char *fn, const GraphDef *g, const Shape *ns,
                           uint8_t **outd, void **arr)
{
    for (int i = 0; i < g->nout; i++) {
        const Node *nd = &g->nodes[g->outputs[i]];
        Tensor *t = tensor_new(nd->dtype, nd->format, &ns[g->outputs[i]]);
        if (!t) {
            ge_err(fn, "out of memory");
            return ACL_ERROR_GE_MEMORY_ALLOCATION;
        }
        shape_nbytes(&t->shape, t->dtype, &t->nbytes);
        t->has_data = true;
        t->host = outd[i];
        outd[i] = NULL;
        arr[i] = obj_handle(&t->h);
    }
    return GE_SUCCESS;
}

Status session_run_graph_locked(const char *fn, void *session, uint32_t graph_id,
                                void **inputs, int input_count, void ***outputs,
                                size_t *output_count)
{
    Session *s;
    Status st;
    bool array_fault = false;
    if (fault_fires(fn, &st)) {
        if (st)
            return st;
        array_fault = true;   /* status SUCCESS: the output array cannot be made */
    }
    if ((st = run_args_check(fn, session, false, NULL, inputs, input_count, outputs,
                             output_count, &s)))
        return st;
    InnerSession *in;
    if ((st = inner_for(fn, "RunGraph", s, &in)))
        return st;
    SessGraph *sg = run_graph_target(fn, in, graph_id, &st);
    if (!sg)
        return st;
    if (!sg->built && !def_compile(fn, sg->def))
        return GE_FAILED;    /* GE_GRAPH_INFERSHAPE_FAILED, which RunGraph maps to FAILED */
    GraphDef *g = sg->def;
    WorkIn *win;
    Shape *ns;
    if ((st = prepare_inputs(fn, g, inputs, input_count, false, &win, &ns))) {
        ge_err(fn, "Run graph failed, error code:%" PRIu32 ", session_id:%" PRIu64
               ", graph_id:%" PRIu32 ".", st, in->id, graph_id);
        return run_graph_status(st);
    }
    sg->built = true;                     /* RunGraph compiles implicitly */
    int nout = g->nout;
    uint8_t **ind = calloc((size_t)(g->nin ? g->nin : 1), sizeof *ind);
    uint8_t **outd = calloc((size_t)(nout ? nout : 1), sizeof *outd);
    void **arr = calloc((size_t)(nout ? nout : 1), sizeof *arr);
    bool ok = ind && outd && arr;
    for (int i = 0; ok && i < g->nin; i++)
        ind[i] = win[i].copy;
    for (int i = 0; ok && i < nout; i++) {
        size_t nb;
        shape_nbytes(&ns[g->outputs[i]], g->nodes[g->outputs[i]].dtype, &nb);
        ok = (outd[i] = malloc(max_sz(nb, 1))) != NULL;
    }
    if (ok)
        ok = graph_execute(g, ind, ns, outd);
    st = ok ? host_outputs(fn, g, ns, outd, arr) : ACL_ERROR_GE_MEMORY_ALLOCATION;
    if (!ok)
        ge_err(fn, "out of memory");
    if (!st) {
        outputs_publish(arr, (size_t)nout, array_fault, outputs, output_count, NULL);
        arr = NULL;
    }
    for (int i = 0; arr && i < nout; i++) {
        Tensor *t = arr[i] ? obj_find(arr[i], H_TENSOR) : NULL;
        if (t)
            tensor_free(t, NULL);
    }
    free(arr);
    for (int i = 0; outd && i < nout; i++)
        free(outd[i]);
    free(outd);
    free(ind);
    workins_free(win, g->nin, NULL);
    free(ns);
    return run_graph_status(st);
}

/* ==========================================================================
 * Runs that take memory from a stream's allocator, in three phases: begin
 * (locked: check, plan the blocks, pin the allocator), allocate (unlocked:
 * MallocFn + GetAddrFn under the allocator's mutex), finish (locked: load
 * the graph, make the outputs, enqueue the work).
 * ========================================================================== */

struct GeRun {
    const char *fn;
    bool async;           /* RunGraphWithStreamAsync; else LoadGraph */
    bool array_fault;
    uint64_t gsid;
    uint32_t graph_id;
    void *stream;
    void ***outputs;
    size_t *output_count;
    Work *w;              /* async: the queued work (inputs, shapes, graph) */
    uint64_t al_id;       /* the stream's allocator (pinned), 0: GE's own memory */
    Allocator *al;
    bool loads;           /* the graph is loaded by this call */
    int nload;            /* 2 when it loads with the stream's allocator (const, feature) */
    int n;                /* blocks: nload, then the outputs */
    size_t *sizes;
    void **blocks;
    void **addrs;
    const char *failed;   /* what the allocator did wrong, or NULL */
};

static void ge_run_free(GeRun *r)
{
    free(r->sizes);
    free(r->blocks);
    free(r->addrs);
    free(r);
}

/* The sizes GE asks a loaded graph's allocator for (CHOICE, see above). */
static void load_sizes(const GraphDef *g, size_t *sizes)
{
    size_t feature = FEATURE_MEMORY_PAGE;
    for (int k = 0; k < g->nnodes; k++) {
        const Node *nd = &g->nodes[k];
        if (nd->op == OP_DATA)
            continue;
        size_t n = dtype_size(nd->dtype);
        for (int j = 0; j < nd->shape.n; j++)
            n *= nd->shape.d[j] > 0 ? (size_t)nd->shape.d[j] : 1;
        feature += ge_padded(n);
    }
    sizes[0] = CONST_MEMORY_BYTES;
    sizes[1] = feature;
}

/* Plan the blocks: the graph's own memory when it is not loaded yet and the
 * stream has an allocator, then (async) one padded block per output.  Pins
 * the allocator. */
static Status ge_run_plan(GeRun *r, const SessGraph *sg, const Shape *ns)
{
    Allocator *al = alloc_for_stream((uintptr_t)r->stream);
    int nout = r->async ? sg->def->nout : 0;
    r->loads = !sg->loaded;
    r->nload = al && r->stream && r->loads ? 2 : 0;
    r->n = r->nload + nout;
    r->sizes = calloc((size_t)(r->n ? r->n : 1), sizeof *r->sizes);
    r->blocks = calloc((size_t)(r->n ? r->n : 1), sizeof *r->blocks);
    r->addrs = calloc((size_t)(r->n ? r->n : 1), sizeof *r->addrs);
    if (!r->sizes || !r->blocks || !r->addrs) {
        ge_err(r->fn, "out of memory");
        return ACL_ERROR_GE_MEMORY_ALLOCATION;
    }
    if (r->nload)
        load_sizes(sg->def, r->sizes);
    for (int i = 0; i < nout; i++) {
        int k = sg->def->outputs[i];
        size_t nb;
        shape_nbytes(&ns[k], sg->def->nodes[k].dtype, &nb);
        r->sizes[r->nload + i] = ge_padded(nb);
    }
    if (al) {
        al->refs++;              /* the std::shared_ptr GE holds during the call */
        r->al = al;
        r->al_id = al->id;
    }
    return GE_SUCCESS;
}

/* Session::RunGraphWithStreamAsync: every failure after the wrapper's NULL
 * checks is FAILED (the graph manager's code goes to the error report). */
Status session_run_async_begin_locked(const char *fn, GeRun **run, void *session,
                                      uint32_t graph_id, void *stream, void **inputs,
                                      int input_count, void ***outputs,
                                      size_t *output_count)
{
    Session *s;
    Status st;
    bool array_fault = false;
    *run = NULL;
    if (fault_fires(fn, &st)) {
        if (st)
            return st;
        array_fault = true;
    }
    if ((st = run_args_check(fn, session, true, stream, inputs, input_count, outputs,
                             output_count, &s)))
        return st;
    InnerSession *in;
    if ((st = inner_for(fn, "RunGraphWithStreamAsync", s, &in)))
        return st;
    if (!handle_lookup(fn, stream, H_STREAM, NULL_CHECKED)) {
        ge_err(fn, "stream %p is not a live stream", stream);
        return GE_FAILED;
    }
    SessGraph *sg = session_graph(in, graph_id);
    GeRun *r = calloc(1, sizeof *r);
    Work *w = calloc(1, sizeof *w);
    st = !sg ? GE_GRAPH_GRAPH_NOT_EXIST : !r || !w ? ACL_ERROR_GE_MEMORY_ALLOCATION : 0;
    if (!st && !sg->built && !def_compile(fn, sg->def))
        st = GE_FAILED;      /* RunGraphWithStreamAsync maps every failure to FAILED */
    if (!st) {
        w->type = W_GRAPH;
        st = prepare_inputs(fn, sg->def, inputs, input_count, true, &w->in, &w->ns);
    }
    if (!st) {
        w->def = def_ref(sg->def);
        w->nin = w->def->nin;
        sg->built = true;        /* compiled on first use */
        *r = (GeRun){ .fn = fn, .async = true, .array_fault = array_fault, .gsid = in->id,
                      .graph_id = graph_id, .stream = stream, .outputs = outputs,
                      .output_count = output_count, .w = w };
        if (!(st = ge_run_plan(r, sg, w->ns))) {
            *run = r;
            return GE_SUCCESS;
        }
        work_free(w, deferred());
        w = NULL;
        if (r->al)
            alloc_unref(r->al, deferred());
    }
    ge_err(fn, "Run graph with stream async failed, error code:%" PRIu32 ", session_id:%"
           PRIu64 ", graph_id:%" PRIu32 ", stream:%p.", st, in->id, graph_id, stream);
    free(w);
    if (r)
        ge_run_free(r);
    return GE_FAILED;
}

/* The options argument of LoadGraph: a `const std::map<AscendString,
 * AscendString> &`.  The stand-in accepts only an empty map, read as
 * libstdc++'s _Rb_tree (x86_64 and aarch64 LP64): the comparator at 0, the
 * header node at 8 (colour at 8, parent at 16, leftmost at 24, rightmost at
 * 32) and the node count at 40; an empty tree's header has no parent and
 * points to itself.  Anything else is what the stand-in cannot read: strict
 * mode aborts, tidy mode fails. */
typedef struct RbTreeHeader {
    int color;
    const void *parent, *left, *right;
} RbTreeHeader;
typedef struct StdMap {
    unsigned char compare[8];
    RbTreeHeader header;
    size_t node_count;
} StdMap;
_Static_assert(offsetof(StdMap, header) == 8 && offsetof(StdMap, node_count) == 40 &&
               sizeof(StdMap) == 48, "libstdc++ std::map layout (LP64)");

static bool options_map_empty(const char *fn, const void *options)
{
    const StdMap *m = options;
    if (!options) {
        crashes_in_cann(fn, "NULL options reference (CANN dereferences it)");
        return false;
    }
    const void *self = &m->header;
    if (m->header.parent == NULL && m->header.left == self && m->header.right == self &&
        m->node_count == 0)
        return true;
    crashes_in_cann(fn, "the options argument at %p is not an empty "
                    "std::map<AscendString, AscendString> (the stand-in reads only an empty "
                    "map: header parent %p left %p right %p, count %zu)", options,
                    m->header.parent, m->header.left, m->header.right, m->node_count);
    return false;
}

/* Session::LoadGraph (ge_api.cc) and GraphManager::LoadGraph: FAILED unless
 * the graph exists, was compiled by CompileGraph and is not loaded yet.
 * The stream may be NULL (no check anywhere): then GE's own memory. */
Status session_load_graph_begin_locked(const char *fn, GeRun **run, const void *session,
                                       uint32_t graph_id, const void *options,
                                       void *stream)
{
    uint32_t st;
    *run = NULL;
    if (fault_fires(fn, &st))
        return st;
    Session *s = handle_lookup(fn, session, H_SESSION, NULL_CRASHES);
    if (!s)
        return GE_FAILED;
    if (!options_map_empty(fn, options))
        return GE_FAILED;
    InnerSession *in;
    if ((st = inner_for(fn, "LoadGraph", s, &in)))
        return st;
    if (stream && !handle_lookup(fn, stream, H_STREAM, NULL_CHECKED)) {
        ge_err(fn, "stream %p is not a live stream", stream);
        return GE_FAILED;
    }
    SessGraph *sg = session_graph(in, graph_id);
    const char *why = !sg                ? "does not exist"
                      : !sg->compile_api ? "has not been compiled; call CompileGraph before "
                                           "LoadGraph"
                      : sg->loaded       ? "has been loaded"
                                         : NULL;
    if (why) {
        ge_err_code(fn, "E10062", "call LoadGraph: the graph (graph_id=%" PRIu32 ") %s",
                    graph_id, why);
        ge_err(fn, "Load graph failed, session_id:%" PRIu64 ", graph_id:%" PRIu32, in->id,
               graph_id);
        return GE_FAILED;
    }
    GeRun *r = calloc(1, sizeof *r);
    if (!r) {
        ge_err(fn, "out of memory");
        return GE_FAILED;
    }
    *r = (GeRun){ .fn = fn, .gsid = in->id, .graph_id = graph_id, .stream = stream };
    if ((st = ge_run_plan(r, sg, NULL))) {
        ge_run_free(r);
        return GE_FAILED;
    }
    *run = r;
    return GE_SUCCESS;
}

/* Ask the allocator for each planned block, in order (the graph's own
 * memory first); stop at the first bad answer. */
void ge_run_allocate_unlocked(GeRun *r)
{
    for (int i = 0; r->al && i < r->n && !r->failed; i++) {
        if (!alloc_malloc_unlocked(r->fn, r->al, r->sizes[i], &r->blocks[i], &r->addrs[i])) {
            r->failed = "a NULL block";
        } else if (!r->addrs[i]) {
            r->failed = "a NULL address";
        } else {
            ge_stub_enter();
            bool inside = region_holding(&g_dev, r->addrs[i], r->sizes[i]) != NULL;
            ge_stub_leave();
            if (!inside)
                r->failed = "an address outside device memory";
        }
    }
}

/* Wrap block i; on failure (or with no allocator: GE's own memory) NULL. */
static ABlock *run_block(GeRun *r, int i, CbList *cb)
{
    if (!r->al) {                          /* GE's own device memory */
        Region nr;
        if (region_alloc(&g_dev, r->sizes[i], R_TENSOR, &nr) != RA_OK)
            return NULL;
        ABlock *b = ablock_new(NULL, nr.base, nr.base, r->sizes[i], nr.id);
        if (!b)
            region_release(&g_dev, region_by_id(&g_dev, nr.id));
        return b;
    }
    Region *rg = region_holding(&g_dev, r->addrs[i], r->sizes[i]);
    ABlock *b = rg ? ablock_new(r->al, r->blocks[i], r->addrs[i], r->sizes[i], rg->id) : NULL;
    if (!b)
        alloc_hand_back(r->al, r->blocks[i], cb);   /* cannot track it: free it */
    r->blocks[i] = NULL;
    return b;
}

/* Give back every block not wrapped yet (FreeFn deferred). */
static void run_hand_back(GeRun *r, CbList *cb)
{
    for (int i = 0; r->al && i < r->n; i++)
        if (r->blocks[i])
            alloc_hand_back(r->al, r->blocks[i], cb);
}

/* The async outputs: device tensors of the padded storage GE asked for. */
static Status async_outputs(GeRun *r, ABlock **ob, void **arr)
{
    Work *w = r->w;
    for (int i = 0; i < w->def->nout; i++) {
        int k = w->def->outputs[i];
        const Node *nd = &w->def->nodes[k];
        Tensor *t = tensor_new(nd->dtype, nd->format, &w->ns[k]);
        if (!t) {
            ge_err(r->fn, "out of memory");
            return ACL_ERROR_GE_MEMORY_ALLOCATION;
        }
        t->placement = PLACEMENT_DEVICE;
        t->has_data = true;
        t->nbytes = ob[i]->nbytes;            /* ge::Tensor::GetSize(): padded */
        t->addr = ob[i]->addr;
        t->region = ob[i]->region;
        t->blk = ob[i];
        ob[i]->refs++;                        /* the tensor's reference */
        arr[i] = obj_handle(&t->h);
    }
    return GE_SUCCESS;
}

/* Load: the graph's own memory goes to the graph, which takes the blocks'
 * references (lb[i] NULL afterwards).  The graph may have been removed, or
 * loaded by another thread, while the lock was released. */
static Status finish_load(GeRun *r, ABlock **lb, CbList *cb)
{
    InnerSession *in;
    Session probe = { .gsid = r->gsid };
    SessGraph *sg = inner_for(r->fn, r->async ? "RunGraphWithStreamAsync" : "LoadGraph",
                              &probe, &in) ? NULL : session_graph(in, r->graph_id);
    Status st = GE_SUCCESS;
    if (!sg || (sg->loaded && !r->async)) {
        ge_err(r->fn, "the graph (graph_id=%" PRIu32 ") was removed or loaded meanwhile",
               r->graph_id);
        st = GE_FAILED;
    } else if (!sg->loaded && r->nload) {
        sg->const_blk = lb[0];
        sg->feat_blk = lb[1];
        lb[0] = lb[1] = NULL;
    }
    if (sg && !st)
        sg->loaded = true;
    for (int i = 0; i < r->nload; i++)
        if (lb[i])
            ablock_unref(lb[i], cb);
    for (int i = 0; i < r->nload; i++)
        lb[i] = NULL;
    return st;
}

/* The async run's outputs and queued work: the blocks' references go to the
 * work (a writer each) and the output tensors take one each. */
static Status finish_async(GeRun *r, ABlock **ob, void **arr, CbList *cb)
{
    int nout = r->n - r->nload;
    Stream *sm = stream_find(r->stream);
    ABlock **wout = calloc((size_t)(nout ? nout : 1), sizeof *wout);
    Status st = !sm ? GE_GRAPH_EXECUTE_FAILED : !wout ? ACL_ERROR_GE_MEMORY_ALLOCATION : 0;
    if (st)
        ge_err(r->fn, sm ? "out of memory" : "stream %p was destroyed during the call",
               r->stream);
    else
        st = async_outputs(r, ob, arr);
    if (st) {
        free(wout);
        return st;
    }
    for (int i = 0; i < nout; i++) {
        wout[i] = ob[i];
        wout[i]->writers++;
        ob[i] = NULL;
    }
    r->w->out = wout;
    r->w->nout = nout;
    stream_push(sm, r->w);
    r->w = NULL;
    outputs_publish(arr, (size_t)nout, r->array_fault, r->outputs, r->output_count, cb);
    return GE_SUCCESS;
}

Status ge_run_finish_locked(GeRun *r)
{
    CbList *cb = deferred();
    Status st = GE_SUCCESS;
    int nout = r->n - r->nload;
    ABlock **bl = calloc((size_t)(r->n ? r->n : 1), sizeof *bl);
    void **arr = calloc((size_t)(nout ? nout : 1), sizeof *arr);
    if (r->al && !alloc_by_id(r->al_id))
        r->failed = "nothing (it was reset)";
    if (r->failed || !bl || !arr) {
        ge_err(r->fn, "the allocator of stream %p returned %s", r->stream,
               r->failed ? r->failed : "blocks that cannot be tracked (out of memory)");
        st = GE_GRAPH_MALLOC_FAILED;
    }
    for (int i = 0; !st && i < r->n; i++) {
        if (!(bl[i] = run_block(r, i, cb))) {
            ge_err(r->fn, "block %d: %zu bytes at %p are not inside one live device block",
                   i, r->sizes[i], r->addrs[i]);
            st = GE_GRAPH_MALLOC_FAILED;
        }
    }
    if (st && r->al && alloc_by_id(r->al_id))
        run_hand_back(r, cb);
    if (!st && r->loads)
        st = finish_load(r, bl, cb);
    if (!st && r->async && !(st = finish_async(r, bl + r->nload, arr, cb)))
        arr = NULL;                           /* the caller's now */
    for (int i = 0; arr && i < nout; i++) {
        Tensor *t = arr[i] ? obj_find(arr[i], H_TENSOR) : NULL;
        if (t)
            tensor_free(t, cb);
    }
    for (int i = 0; bl && i < r->n; i++)
        if (bl[i])
            ablock_unref(bl[i], cb);
    if (r->w)
        work_free(r->w, cb);
    if (st)
        ge_err(r->fn, "%s failed, error code:%" PRIu32 ", session_id:%" PRIu64
               ", graph_id:%" PRIu32 ", stream:%p.", r->async ? "Run graph with stream async"
               : "Load graph", st, r->gsid, r->graph_id, r->stream);
    if (r->al && alloc_by_id(r->al_id))
        alloc_unref(r->al, cb);
    free(bl);
    free(arr);
    ge_run_free(r);
    return st ? GE_FAILED : GE_SUCCESS;
}

Status ge_run_complete_unlocked(Status st, GeRun *run)
{
    if (st != GE_SUCCESS)
        return st;
    ge_run_allocate_unlocked(run);
    ge_stub_enter();
    st = ge_run_finish_locked(run);
    ge_stub_leave();
    return st;
}
