/* ge_session.c -- GE's lifecycle (GEInitialize, GEFinalize) and sessions
 * with the graphs added to them, after hicann/ge api/session/client/ge_api.cc
 * (the public ge::Session methods), api/session/session/session_manager.cc
 * and inner_session.cc, and the C wrapper api/python/ge/ge_api_c_wrapper/
 * c_session.cc and c_geapi.cc.  The runs and LoadGraph are in ge_run.c, the
 * allocator functions in allocators.c, the error queue in errors.c.
 *
 * A ge::Session only holds its GE session id; the session manager maps ids
 * to inner sessions, which hold the graphs.  Ids come from one process-wide
 * counter that starts at 0 and never goes back (session_id_manager.cc), so:
 *  - a session created before GEInitialize keeps id 0 and has no inner
 *    session: every call on it fails (FAILED) ... until the first session
 *    created after GEInitialize gets id 0, which it then silently aliases;
 *  - GEFinalize drops every inner session (SessionManager::Finalize): the
 *    session objects stay, dead for good (new sessions get new ids).
 *
 * The session manager's map is a std::map<SessionId, SessionPtr>, and every
 * call on a session finds its inner session there (GetSession), then its
 * graph in the graph manager's std::map<GraphId, GraphNodePtr>: lookups that
 * do not grow with the live sessions or graphs.  The stand-in finds both
 * through an IdMap (id_map.c).  As those maps iterate, GEFinalize drops the
 * inner sessions by increasing id, and a session releases its graphs by
 * increasing graph id. */
#include "stub_internal.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

bool g_ge_init;                     /* IsGEInitialize() */
static uint64_t g_next_gsid;        /* SessionIdManager's counter */
static IdMap g_inner_by_id;         /* the session manager's map: id -> inner session */

static InnerSession *inner_find(uint64_t id)
{
    return idmap_get(&g_inner_by_id, id);
}

/* Free an inner session's own memory (its graphs' definitions released
 * already, or forgotten by GeStub_Reset). */
static void inner_free(InnerSession *in)
{
    idmap_clear(&in->g_index);
    free(in->g);
    free(in);
}

void sessgraph_release(SessGraph *sg, CbList *cb)
{
    def_unref(sg->def);
    sg->def = NULL;
    /* GraphManager::TryUnloadModel: const and feature memory freed first */
    if (sg->const_blk)
        ablock_unref(sg->const_blk, cb);
    if (sg->feat_blk)
        ablock_unref(sg->feat_blk, cb);
    sg->const_blk = sg->feat_blk = NULL;
    g_live[L_SESSION_GRAPHS]--;
}

static int graph_id_order(const void *a, const void *b)
{
    uint32_t x = ((const SessGraph *)a)->id, y = ((const SessGraph *)b)->id;
    return x < y ? -1 : x > y ? 1 : 0;
}

/* InnerSession::Finalize and erasing it from the map.  GraphManager::Finalize
 * walks its std::map<GraphId, GraphNodePtr>: the graphs go by increasing id
 * (`g` is sorted in place: the session is dropped, its index with it). */
static void inner_drop(InnerSession *in, CbList *cb)
{
    if (in->ng > 1)
        qsort(in->g, in->ng, sizeof *in->g, graph_id_order);
    for (size_t i = 0; i < in->ng; i++)
        sessgraph_release(&in->g[i], cb);
    idmap_remove(&g_inner_by_id, in->id);
    inner_free(in);
    g_live[L_GE_SESSIONS]--;
}

static int session_id_order(const void *a, const void *b)
{
    uint64_t x = (*(InnerSession *const *)a)->id, y = (*(InnerSession *const *)b)->id;
    return x < y ? -1 : x > y ? 1 : 0;
}

/* Every inner session, oldest (lowest id) first: the order GEFinalize drops
 * them in (SessionManager::Finalize walks its std::map<SessionId, SessionPtr>).
 * NULL when out of memory. */
static InnerSession **inner_all_by_id(size_t *n)
{
    InnerSession **all = malloc(max_sz(g_inner_by_id.n, 1) * sizeof *all);
    *n = 0;
    for (size_t i = 0; all && i < g_inner_by_id.cap; i++)
        if (g_inner_by_id.v[i].val)
            all[(*n)++] = g_inner_by_id.v[i].val;
    if (all)
        qsort(all, *n, sizeof *all, session_id_order);
    return all;
}

void ge_reset(void)
{
    for (size_t i = 0; i < g_inner_by_id.cap; i++) {
        InnerSession *in = g_inner_by_id.v[i].val;   /* no callbacks: blocks forgotten */
        for (size_t j = 0; in && j < in->ng; j++)
            def_unref(in->g[j].def);
        if (in)
            inner_free(in);
    }
    idmap_clear(&g_inner_by_id);
    g_ge_init = false;
    g_next_gsid = 0;
}

/* ==========================================================================
 * GE lifecycle (c_geapi.cc, ge_api.cc, ge_api_v2.cc)
 * ========================================================================== */

/* GEInitialize's options: the arrays checked by GE_ASSERT_NOTNULL
 * (c_geapi.cc); a NULL key or value becomes an empty AscendString, and an
 * empty key fails whether or not GE is initialised (GEInitializeV2, E10059). */
static Status init_options_check(const char *fn, char **keys, char **values, int size)
{
    if (!keys || !values) {
        ge_err(fn, "Assert ((%s) != nullptr) failed", keys ? "values" : "keys");
        return GE_PARAM_INVALID;
    }
    for (int i = 0; i < size; i++) {
        if (!keys[i] || !keys[i][0]) {
            ge_err_code(fn, "E10059", "GEInitializeV2: option %d has an empty key", i);
            return GE_FAILED;
        }
    }
    return GE_SUCCESS;
}

/* CHOICE: ge.exec.deviceId must be a non-negative decimal integer (GE fails
 * somewhere in its initialisation otherwise; the stand-in says so at once,
 * with ACL_ERROR_GE_PARAM_INVALID). */
static Status device_id_check(const char *fn, char **keys, char **values, int size)
{
    for (int i = 0; i < size; i++) {
        if (strcmp(keys[i], "ge.exec.deviceId") != 0)
            continue;
        const char *v = values[i] ? values[i] : "";
        size_t n = strlen(v);
        bool ok = n > 0 && n <= 9;
        for (size_t j = 0; ok && j < n; j++)
            ok = v[j] >= '0' && v[j] <= '9';
        if (!ok) {
            ge_err(fn, "ge.exec.deviceId must be a non-negative integer, got \"%s\"", v);
            return ACL_ERROR_GE_PARAM_INVALID;
        }
    }
    return GE_SUCCESS;
}

/* CHOICE: when already initialised the other options are not looked at. */
Status ge_initialize_locked(const char *fn, char **keys, char **values, int size)
{
    uint32_t st;
    if (fault_fires(fn, &st))
        return st;
    if ((st = init_options_check(fn, keys, values, size)))
        return st;
    if (g_ge_init)
        return GE_SUCCESS;
    if ((st = device_id_check(fn, keys, values, size)))
        return st;
    g_ge_init = true;
    return GE_SUCCESS;
}

/* GEFinalize: every inner session is finalized (its graphs unloaded: their
 * non-output memory goes back through FreeFn).  No allocator is
 * unregistered: ExternalAllocatorManager's map is left as it is. */
Status ge_finalize_locked(const char *fn)
{
    uint32_t st;
    if (fault_fires(fn, &st))
        return st;
    if (!g_ge_init)
        return GE_SUCCESS;
    CbList *cb = deferred();
    size_t n;
    InnerSession **all = inner_all_by_id(&n);
    for (size_t i = 0; all && i < n; i++)
        inner_drop(all[i], cb);
    free(all);
    while (g_inner_by_id.n) {   /* CHOICE: out of memory above, in the map's order */
        size_t i = 0;
        while (!g_inner_by_id.v[i].val)
            i++;
        inner_drop(g_inner_by_id.v[i].val, cb);
    }
    g_ge_init = false;
    return GE_SUCCESS;
}

bool ge_is_initialized_locked(void) { return g_ge_init; }

/* ==========================================================================
 * Sessions
 * ========================================================================== */

/* ConstructSession: an inner session only when GE is initialised. */
static Session *session_new(const char *fn, bool construct)
{
    Session *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;   /* new (std::nothrow) ge::Session failed */
    if (construct && !g_ge_init) {
        ge_err_code(fn, "E10062", "call Session: GE is not initialized; call GEInitialize "
                    "before creating a session");
    } else if (construct) {
        InnerSession *in = calloc(1, sizeof *in);
        if (in && !idmap_put(&g_inner_by_id, g_next_gsid, in)) {
            free(in);
            in = NULL;
        }
        if (!in) {
            ge_err(fn, "Construct session failed, error code:%" PRIu32 ".",
                   ACL_ERROR_GE_MEMORY_ALLOCATION);
        } else {
            in->id = g_next_gsid++;
            g_live[L_GE_SESSIONS]++;
            s->gsid = in->id;
        }
    }
    obj_register(&s->h, H_SESSION);
    g_live[L_SESSIONS]++;
    return s;
}

/* CreateSession has no NULL check to make; CreateSessionWithOptions checks
 * both arrays and every string (GE_ASSERT_NOTNULL: NULL).  An empty key
 * makes Session's constructor give up before ConstructSession (E10059):
 * the session exists but has id 0 and nothing behind it. */
void *session_create_locked(const char *fn, char **keys, char **values, int size,
                            bool with_options)
{
    uint32_t st;
    if (fault_fires(fn, &st))
        return NULL;
    bool construct = true;
    if (with_options) {
        if (!keys || !values) {
            ge_err(fn, "Assert ((%s) != nullptr) failed", keys ? "values" : "keys");
            return NULL;
        }
        for (int i = 0; i < size; i++) {
            if (!keys[i] || !values[i]) {
                ge_err(fn, "Assert ((%s[i]) != nullptr) failed", keys[i] ? "values" : "keys");
                return NULL;
            }
        }
        for (int i = 0; i < size && construct; i++) {
            if (!keys[i][0]) {
                ge_err_code(fn, "E10059", "Session Initialization: option %d has an empty key",
                             i);
                construct = false;
            }
        }
    }
    Session *s = session_new(fn, construct);
    return s ? obj_handle(&s->h) : NULL;
}

/* delete session: ~Session destroys the inner session of its id when GE is
 * initialised (even when the id is 0 of a session created before
 * GEInitialize: then it is the aliased session's), else does nothing. */
void session_destroy_locked(const char *fn, void *session)
{
    Session *s = handle_lookup(fn, session, H_SESSION, NULL_ALLOWED);
    if (!s)
        return;                          /* delete nullptr */
    if (g_ge_init) {
        InnerSession *in = inner_find(s->gsid);
        if (in)
            inner_drop(in, deferred());
        else
            ge_err(fn, "Destroy session failed, error code:%" PRIu32 ".",
                   GE_SESSION_NOT_EXIST);
    }
    obj_unregister(&s->h);
    free(s);
    g_live[L_SESSIONS]--;
}

Status inner_for(const char *fn, const char *api, Session *s, InnerSession **out)
{
    if (!g_ge_init) {
        ge_err_code(fn, "E10062", "call %s: GE is not initialized; call GEInitialize first",
                    api);
        return GE_FAILED;
    }
    InnerSession *in = inner_find(s->gsid);
    if (!in) {
        ge_err(fn, "GetSession fail for InnerSession does not exist, session_id:%" PRIu64 ".",
               s->gsid);
        ge_err(fn, "%s failed, session_id:%" PRIu64 ".", api, s->gsid);
        return GE_FAILED;
    }
    *out = in;
    return GE_SUCCESS;
}

SessGraph *session_graph(InnerSession *in, uint32_t id)
{
    uintptr_t slot = (uintptr_t)idmap_get(&in->g_index, id);
    return slot ? &in->g[slot - 1] : NULL;
}

/* The session argument of a wrapper with GE_ASSERT_NOTNULL(session). */
static Session *session_arg(const char *fn, void *session)
{
    Session *s = handle_lookup(fn, session, H_SESSION, NULL_CHECKED);
    if (!s && !session)
        ge_err(fn, "Assert ((session) != nullptr) failed");
    return s;
}

/* AddGraph's option arrays, as the wrapper converts them. */
static Status graph_options_check(const char *fn, char **keys, char **values, int size)
{
    if (!keys || !values) {
        ge_err(fn, "Assert ((%s) != nullptr) failed", keys ? "values" : "keys");
        return GE_PARAM_INVALID;
    }
    for (int i = 0; i < size; i++) {
        if (!keys[i] || !values[i]) {
            ge_err(fn, "Assert ((%s[i]) != nullptr) failed", keys[i] ? "values" : "keys");
            return GE_PARAM_INVALID;
        }
    }
    return GE_SUCCESS;
}

/* Session::AddGraph (an empty option key: E10059; the discarded
 * ge.autoTuneMode: E10001) and InnerSession::AddGraph; every failure after
 * the wrapper's NULL checks is FAILED.  GE copies the graph. */
Status session_add_graph_locked(const char *fn, void *session, uint32_t graph_id,
                                void *graph, char **keys, char **values, int size,
                                bool with_options)
{
    uint32_t st;
    if (fault_fires(fn, &st))
        return st;
    Session *s = session_arg(fn, session);
    if (!s)
        return GE_PARAM_INVALID;
    GraphH *g = handle_lookup(fn, graph, H_GRAPH, NULL_CHECKED);
    if (!g) {
        ge_err(fn, "Assert ((graph) != nullptr) failed");
        return GE_PARAM_INVALID;
    }
    if (with_options && (st = graph_options_check(fn, keys, values, size)))
        return st;
    InnerSession *in;
    if ((st = inner_for(fn, "AddGraph", s, &in)))
        return st;
    for (int i = 0; with_options && i < size; i++) {
        if (!keys[i][0]) {
            ge_err_code(fn, "E10059", "AddGraph: option %d has an empty key", i);
            return GE_FAILED;
        }
        if (strcmp(keys[i], "ge.autoTuneMode") == 0 && values[i][0]) {
            ge_err_code(fn, "E10001", "ge.autoTuneMode=%s: the Auto Tune function has been "
                        "discarded", values[i]);
            return GE_FAILED;
        }
    }
    if (session_graph(in, graph_id)) {
        ge_err(fn, "GraphManager AddGraph failed, InnerSession:%" PRIu64 " graphid: %" PRIu32
               ": the graph id already exists.", in->id, graph_id);
        ge_err(fn, "Add graph failed, error code:%" PRIu32 ", session_id:%" PRIu64
               ", graph_id:%" PRIu32 ".", GE_GRAPH_GRAPH_ALREADY_EXIST, in->id, graph_id);
        return GE_FAILED;
    }
    SessGraph *nv = grow_array(in->g, &in->capg, in->ng + 1, sizeof *nv);
    if (nv)
        in->g = nv;
    if (!nv || !idmap_put(&in->g_index, graph_id, (void *)(uintptr_t)(in->ng + 1))) {
        ge_err(fn, "Add graph failed: out of memory");
        return GE_FAILED;
    }
    SessGraph sg = { graph_id, def_ref(g->def), false, false, false, NULL, NULL };
    in->g[in->ng++] = sg;
    g_live[L_SESSION_GRAPHS]++;
    return GE_SUCCESS;
}

/* Session::RemoveGraph: a missing id is FAILED.  The graph's non-output
 * memory goes back through FreeFn (TryUnloadModel). */
Status session_remove_graph_locked(const char *fn, void *session, uint32_t graph_id)
{
    uint32_t st;
    if (fault_fires(fn, &st))
        return st;
    Session *s = session_arg(fn, session);
    if (!s)
        return GE_PARAM_INVALID;
    InnerSession *in;
    if ((st = inner_for(fn, "RemoveGraph", s, &in)))
        return st;
    SessGraph *sg = session_graph(in, graph_id);
    if (!sg) {
        ge_err(fn, "GraphManager RemoveGraph failed, InnerSession:%" PRIu64 ", graph_id=%" PRIu32
               ": the graph does not exist.", in->id, graph_id);
        ge_err(fn, "Remove graph failed, error code:%" PRIu32 ", session_id:%" PRIu64
               ", graph_id:%" PRIu32 ".", GE_GRAPH_GRAPH_NOT_EXIST, in->id, graph_id);
        return GE_FAILED;
    }
    sessgraph_release(sg, deferred());
    idmap_remove(&in->g_index, graph_id);
    *sg = in->g[--in->ng];               /* the last graph takes its place */
    if (sg != &in->g[in->ng])
        idmap_put(&in->g_index, sg->id, (void *)(uintptr_t)(sg - in->g + 1));
    return GE_SUCCESS;
}

/* ==========================================================================
 * The ge::Session members of ABI.md section 9 (called with the handle as
 * `this`: no NULL check, so NULL crashes)
 * ========================================================================== */

/* Session::CompileGraph: FAILED before the inner session is found, then
 * GE_ASSERT_SUCCESS: PARAM_INVALID (an unknown id included). */
Status session_compile_graph_locked(const char *fn, void *session, uint32_t graph_id)
{
    uint32_t st;
    if (fault_fires(fn, &st))
        return st;
    Session *s = handle_lookup(fn, session, H_SESSION, NULL_CRASHES);
    if (!s)
        return GE_FAILED;
    InnerSession *in;
    if ((st = inner_for(fn, "CompileGraph", s, &in)))
        return st;
    SessGraph *sg = session_graph(in, graph_id);
    if (!sg) {
        ge_err(fn, "[Compile][Graph]Compile graph failed, error code:%" PRIu32
               ", session_id:%" PRIu64 ", graph_id:%" PRIu32, GE_GRAPH_GRAPH_NOT_EXIST, in->id,
               graph_id);
        return GE_PARAM_INVALID;
    }
    if (!sg->built && !def_compile(fn, sg->def))
        return GE_PARAM_INVALID;        /* ge_api.cc CompileGraph: GE_ASSERT_SUCCESS */
    sg->built = true;
    sg->compile_api = true;
    return GE_SUCCESS;
}

/* Session::IsGraphNeedRebuild: false when GE is not initialised; FAILED
 * converted to bool (true) when the session is dead; true for an unknown or
 * not yet compiled graph. */
bool session_graph_needs_rebuild_locked(const char *fn, void *session, uint32_t graph_id)
{
    Session *s = handle_lookup(fn, session, H_SESSION, NULL_CRASHES);
    if (!s)
        return true;
    if (!g_ge_init) {
        ge_err_code(fn, "E10062", "call IsGraphNeedRebuild: GE is not initialized; call "
                    "GEInitialize first");
        return false;
    }
    InnerSession *in;
    if (inner_for(fn, "IsGraphNeedRebuild", s, &in))
        return true;
    SessGraph *sg = session_graph(in, graph_id);
    return !sg || !sg->built;
}

/* Session::GetSessionId: sessionId_, 0 for a session made before
 * GEInitialize. */
uint64_t session_id_locked(const char *fn, const void *session)
{
    Session *s = handle_lookup(fn, session, H_SESSION, NULL_CRASHES);
    return s ? s->gsid : 0;
}
