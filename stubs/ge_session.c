/* ge_session.c -- GE's lifecycle (GEInitialize, GEFinalize, the error
 * message) and sessions with the graphs added to them.  The runs are in
 * ge_run.c, the allocator functions in allocators.c. */
#include "stub_internal.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

bool g_ge_init;                        /* GEInitialize done */
static uint64_t g_ge_gen;              /* generation of the current GEInitialize */
static uint64_t g_next_session_id = 1; /* GetSessionId values */

void ge_reset(void) { g_ge_init = false; }

/* ==========================================================================
 * GE lifecycle
 * ========================================================================== */

/* Option arrays: size >= 0, non-NULL arrays and strings, and
 * ge.exec.deviceId a non-negative decimal integer. */
bool options_valid(const char *fn, char **keys, char **values, int size)
{
    if (size < 0 || (size > 0 && (!keys || !values))) {
        ge_err(fn, "malformed option arrays (size %d)", size);
        return false;
    }
    for (int i = 0; i < size; i++) {
        if (!keys[i] || !values[i]) {
            ge_err(fn, "option %d has a NULL key or value", i);
            return false;
        }
        if (strcmp(keys[i], "ge.exec.deviceId") == 0) {
            const char *v = values[i];
            size_t n = strlen(v);
            bool ok = n > 0 && n <= 9;
            for (size_t j = 0; ok && j < n; j++)
                ok = v[j] >= '0' && v[j] <= '9';
            if (!ok) {
                ge_err(fn, "ge.exec.deviceId must be a non-negative integer, got \"%s\"", v);
                return false;
            }
        }
    }
    return true;
}

/* CHOICE: when already initialised the options are not looked at. */
Status ge_initialize_locked(const char *fn, char **keys, char **values, int size)
{
    uint32_t st;
    if (fault_fires(fn, &st))
        return st;
    if (g_ge_init)
        return GE_SUCCESS;
    if (!options_valid(fn, keys, values, size))
        return ACL_ERROR_GE_PARAM_INVALID;
    g_ge_init = true;
    g_ge_gen++;
    return GE_SUCCESS;
}

static void session_clear_graphs(Session *s)
{
    for (size_t i = 0; i < s->ng; i++)
        def_unref(s->g[i].def);
    g_live[L_SESSION_GRAPHS] -= (int64_t)s->ng;
    s->ng = 0;
}

static void finalize_session(Obj *o) { session_clear_graphs((Session *)o); }

Status ge_finalize_locked(const char *fn)
{
    uint32_t st;
    if (fault_fires(fn, &st))
        return st;
    if (!g_ge_init)
        return GE_SUCCESS;
    g_ge_init = false;
    for_each_obj(H_SESSION, finalize_session);
    CbList *cb = deferred();
    for (Allocator *a = g_allocators, *next; a; a = next) {
        next = a->next;
        alloc_unregister(a, cb);
    }
    return GE_SUCCESS;
}

bool ge_is_initialized_locked(void) { return g_ge_init; }

const char *ge_error_msg_locked(void) { return ge_message(); }

/* ==========================================================================
 * Sessions
 * ========================================================================== */

void *session_create_locked(const char *fn, char **keys, char **values, int size)
{
    uint32_t st;
    if (fault_fires(fn, &st))
        return NULL;
    if (!options_valid(fn, keys, values, size))
        return NULL;
    Session *s = calloc(1, sizeof *s);
    if (!s) {
        ge_err(fn, "out of memory");
        return NULL;
    }
    s->gen = g_ge_init ? g_ge_gen : 0;
    s->sid = g_next_session_id++;
    obj_register(&s->h, H_SESSION);
    g_live[L_SESSIONS]++;
    return obj_handle(&s->h);
}

void session_destroy_locked(const char *fn, void *session)
{
    Session *s = handle_lookup(fn, session, H_SESSION, NULL_ALLOWED);
    if (!s) {
        if (session)
            ge_err(fn, "unknown or destroyed session %p", session);
        return;
    }
    session_clear_graphs(s);
    obj_unregister(&s->h);
    free(s->g);
    free(s);
    g_live[L_SESSIONS]--;
}

Status session_check(const char *fn, void *session, Session **out)
{
    Session *s = handle_lookup(fn, session, H_SESSION, NULL_CHECKED);
    if (!g_ge_init) {
        ge_err(fn, "GE is not initialized (call GEInitialize first)");
        return GE_CLI_GE_NOT_INITIALIZED;
    }
    if (!s || s->gen != g_ge_gen) {
        ge_err(fn, "session %p does not exist (or was created outside the current "
               "GEInitialize)", session);
        return GE_SESSION_NOT_EXIST;
    }
    *out = s;
    return GE_SUCCESS;
}

bool session_ready(const char *fn, void *session, Session **out, Status *st)
{
    if (fault_fires(fn, st))
        return false;
    *st = session_check(fn, session, out);
    return *st == GE_SUCCESS;
}

SessGraph *session_graph(Session *s, uint32_t id)
{
    for (size_t i = 0; i < s->ng; i++)
        if (s->g[i].id == id)
            return &s->g[i];
    return NULL;
}

Status graph_missing(const char *fn, uint32_t id)
{
    ge_err(fn, "graph id %" PRIu32 " does not exist in the session", id);
    return GE_GRAPH_GRAPH_NOT_EXIST;
}

Status session_add_graph_locked(const char *fn, void *session, uint32_t graph_id,
                                void *graph, char **keys, char **values, int size)
{
    Session *s;
    Status st;
    if (!session_ready(fn, session, &s, &st))
        return st;
    GraphH *g = handle_lookup(fn, graph, H_GRAPH, NULL_CHECKED);
    if (!g) {
        ge_err(fn, "graph handle %p is NULL or not a live graph", graph);
        return GE_GRAPH_PARAM_NULLPTR;
    }
    if (session_graph(s, graph_id)) {
        ge_err(fn, "graph id %" PRIu32 " is already added", graph_id);
        return GE_GRAPH_GRAPH_ALREADY_EXIST;
    }
    if (!options_valid(fn, keys, values, size))
        return ACL_ERROR_GE_PARAM_INVALID;
    SessGraph *nv = grow_array(s->g, &s->capg, s->ng + 1, sizeof *nv);
    if (!nv) {
        ge_err(fn, "out of memory");
        return ACL_ERROR_GE_MEMORY_ALLOCATION;
    }
    s->g = nv;
    SessGraph sg = { graph_id, def_ref(g->def), false };
    s->g[s->ng++] = sg;
    g_live[L_SESSION_GRAPHS]++;
    return GE_SUCCESS;
}

Status session_remove_graph_locked(const char *fn, void *session, uint32_t graph_id)
{
    Session *s;
    Status st;
    if (!session_ready(fn, session, &s, &st))
        return st;
    SessGraph *sg = session_graph(s, graph_id);
    if (!sg)
        return graph_missing(fn, graph_id);
    def_unref(sg->def);
    *sg = s->g[--s->ng];
    g_live[L_SESSION_GRAPHS]--;
    return GE_SUCCESS;
}

Status session_compile_graph_locked(const char *fn, void *session, uint32_t graph_id)
{
    Session *s;
    Status st;
    if (!session_ready(fn, session, &s, &st))
        return st;
    SessGraph *sg = session_graph(s, graph_id);
    if (!sg)
        return graph_missing(fn, graph_id);
    if (!sg->compiled && !def_compile(fn, sg->def))
        return GE_PARAM_INVALID;        /* ge_api.cc CompileGraph: GE_ASSERT_SUCCESS */
    sg->compiled = true;
    return GE_SUCCESS;
}

Status session_load_graph_locked(const char *fn, void *session, uint32_t graph_id,
                                 char **keys, char **values, int size, void *stream)
{
    Session *s;
    Status st;
    if (!session_ready(fn, session, &s, &st))
        return st;
    SessGraph *sg = session_graph(s, graph_id);
    if (!sg)
        return graph_missing(fn, graph_id);
    if (!options_valid(fn, keys, values, size))
        return ACL_ERROR_GE_PARAM_INVALID;
    if (!stream_lookup(fn, stream)) {
        ge_err(fn, "unknown or destroyed stream %p", stream);
        return ACL_ERROR_GE_PARAM_INVALID;
    }
    if (!sg->compiled) {
        ge_err(fn, "graph %" PRIu32 " is not compiled", graph_id);
        return GE_GRAPH_NOT_BUILT;
    }
    return GE_SUCCESS;
}

/* CHOICE: false (with a message) when the session or graph is unknown. */
bool session_graph_needs_rebuild_locked(const char *fn, void *session, uint32_t graph_id)
{
    Session *s;
    if (session_check(fn, session, &s) != GE_SUCCESS)
        return false;
    SessGraph *sg = session_graph(s, graph_id);
    if (!sg) {
        graph_missing(fn, graph_id);
        return false;
    }
    return !sg->compiled;
}

/* CHOICE: ids count from 1 per process; 0 for a dead handle.  Works for
 * any live session handle, whatever its generation. */
uint64_t session_id_locked(const char *fn, void *session)
{
    Session *s = handle_lookup(fn, session, H_SESSION, NULL_CHECKED);
    if (!s) {
        ge_err(fn, "unknown or destroyed session %p", session);
        return 0;
    }
    return s->sid;
}
