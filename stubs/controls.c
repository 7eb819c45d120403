/* controls.c -- the GeStub_* test controls and inspection functions
 * (stubs/README.md), exported by the core library only.  They look
 * handles up without strict mode: asking about a dead handle is a
 * question, not a misuse. */
#include "stub_internal.h"

#include <stdlib.h>
#include <string.h>

/* ==========================================================================
 * Reset
 * ========================================================================== */

static void reset_obj(Obj *o)
{
    switch (o->kind) {
    case H_GRAPH:
        graph_forget((GraphH *)o);
        break;
    case H_BUILDER:
        builder_forget((Builder *)o);   /* its holders and GNodes are objects too */
        break;
    case H_TENSOR:
        free(((Tensor *)o)->host);
        break;
    case H_STREAM:
        stream_clear_silent((Stream *)o);
        break;
    default:
        break;
    }
    free(o);
}

/* Free everything and forget every allocator without calling callbacks. */
static void reset_locked(void)
{
    objs_drain(reset_obj);
    streams_reset();
    allocators_reset();
    regions_reset();
    ptrset_free_all(&g_dims_arrays);
    ptrset_free_all(&g_tensor_arrays);
    strings_reset();
    faults_clear();
    memset(g_live, 0, sizeof g_live);
    messages_clear_all();
    ge_reset();
    acl_reset();
    misuse_set_aborts(true);
}

void GeStub_Reset(void)
{
    ge_stub_enter();
    reset_locked();
    ge_stub_leave();
}

/* ==========================================================================
 * Faults and strict mode
 * ========================================================================== */

void GeStub_FailNext(const char *function, uint32_t status, int32_t nth)
{
    ge_stub_enter();
    faults_add(function, status, nth);
    ge_stub_leave();
}

int32_t GeStub_FaultsPending(void)
{
    ge_stub_enter();
    int32_t n = faults_pending();
    ge_stub_leave();
    return n;
}

void GeStub_ClearFaults(void)
{
    ge_stub_enter();
    faults_clear();
    ge_stub_leave();
}

const char *GeStub_FailableFunctions(void)
{
    ge_stub_enter();
    const char *text = faults_failable_text();
    ge_stub_leave();
    return text;
}

/* on != 0: a dead or foreign handle aborts (the default, restored by
 * GeStub_Reset); 0: it gives the tidy failure value of the function. */
void GeStub_SetMisuseAborts(int on)
{
    ge_stub_enter();
    misuse_set_aborts(on != 0);
    ge_stub_leave();
}

/* ==========================================================================
 * Counters
 * ========================================================================== */

static const char *live_kinds_locked(void)
{
    return "sessions,graphs,session_graphs,builders,tensors,tensor_arrays,"
           "dims_arrays,device_blocks,host_blocks,streams,allocators,"
           "allocator_blocks,pending_work,strings,tensor_descs,ge_sessions";
}

const char *GeStub_LiveKinds(void)
{
    ge_stub_enter();
    const char *kinds = live_kinds_locked();
    ge_stub_leave();
    return kinds;
}

static int64_t live_count_locked(const char *kind)
{
    for (int i = 0; kind && i < L_COUNT; i++)
        if (strcmp(kind, g_live_names[i]) == 0)
            return g_live[i];
    return -1;
}

int64_t GeStub_LiveCount(const char *kind)
{
    ge_stub_enter();
    int64_t n = live_count_locked(kind);
    ge_stub_leave();
    return n;
}

static const char *callback_names_locked(void) { return "malloc,free,get_addr,on_destroy"; }

const char *GeStub_CallbackNames(void)
{
    ge_stub_enter();
    const char *names = callback_names_locked();
    ge_stub_leave();
    return names;
}

static int64_t callback_count_locked(const char *name)
{
    for (int i = 0; name && i < CB_COUNT; i++)
        if (strcmp(name, g_cb_names[i]) == 0)
            return atomic_load(&g_cb_count[i]);
    return -1;
}

int64_t GeStub_CallbackCount(const char *name)
{
    ge_stub_enter();
    int64_t n = callback_count_locked(name);
    ge_stub_leave();
    return n;
}

/* ==========================================================================
 * Settings
 * ========================================================================== */

void GeStub_SetDeviceCount(uint32_t count)
{
    ge_stub_enter();
    acl_set_device_count(count);
    ge_stub_leave();
}

static void set_memory_limit_locked(uint64_t bytes) { g_mem_limit = bytes; }

void GeStub_SetMemoryLimit(uint64_t bytes)
{
    ge_stub_enter();
    set_memory_limit_locked(bytes);
    ge_stub_leave();
}

/* ==========================================================================
 * Inspection of streams and graphs
 * ========================================================================== */

static int64_t pending_work_locked(void *stream)
{
    Stream *s = stream_find(stream);
    return s ? s->n : -1;
}

int64_t GeStub_PendingWork(void *stream)
{
    ge_stub_enter();
    int64_t n = pending_work_locked(stream);
    ge_stub_leave();
    return n;
}

static int64_t graph_io_count_locked(void *graph, bool outputs)
{
    GraphH *g = obj_find(graph, H_GRAPH);
    if (!g)
        return -1;
    return outputs ? g->def->nout : g->def->nin;
}

int64_t GeStub_GraphInputCount(void *graph)
{
    ge_stub_enter();
    int64_t n = graph_io_count_locked(graph, false);
    ge_stub_leave();
    return n;
}

int64_t GeStub_GraphOutputCount(void *graph)
{
    ge_stub_enter();
    int64_t n = graph_io_count_locked(graph, true);
    ge_stub_leave();
    return n;
}

/* The node of input (outputs false) or output `index`, or NULL. */
static const Node *graph_io_node(void *graph, int64_t index, bool outputs)
{
    GraphH *g = obj_find(graph, H_GRAPH);
    if (!g || index < 0 || index >= (outputs ? g->def->nout : g->def->nin))
        return NULL;
    int k = outputs ? g->def->outputs[index] : g->def->inputs[index];
    return &g->def->nodes[k];
}

static void write_dims(const Shape *s, int64_t *dims, int64_t cap, int64_t *dim_num)
{
    for (int i = 0; dims && i < s->n && i < cap; i++)
        dims[i] = s->d[i];
    if (dim_num)
        *dim_num = s->n;
}

static int32_t graph_io_desc_locked(void *graph, int64_t index, bool outputs,
                                    int32_t *data_type, int32_t *format, int64_t *dims,
                                    int64_t dims_capacity, int64_t *dim_num)
{
    const Node *nd = graph_io_node(graph, index, outputs);
    if (!nd)
        return -1;
    if (data_type)
        *data_type = nd->dtype;
    if (format)
        *format = nd->format;
    write_dims(&nd->shape, dims, dims_capacity, dim_num);
    return 0;
}

int32_t GeStub_GraphInputDesc(void *graph, int64_t index, int32_t *data_type,
                              int32_t *format, int64_t *dims, int64_t dims_capacity,
                              int64_t *dim_num)
{
    ge_stub_enter();
    int32_t rc = graph_io_desc_locked(graph, index, false, data_type, format, dims,
                                      dims_capacity, dim_num);
    ge_stub_leave();
    return rc;
}

int32_t GeStub_GraphOutputDesc(void *graph, int64_t index, int32_t *data_type,
                               int64_t *dims, int64_t dims_capacity, int64_t *dim_num)
{
    ge_stub_enter();
    int32_t rc = graph_io_desc_locked(graph, index, true, data_type, NULL, dims,
                                      dims_capacity, dim_num);
    ge_stub_leave();
    return rc;
}
