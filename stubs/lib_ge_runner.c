/* lib_ge_runner.c -- the exported functions of libge_runner.so that the
 * package calls (docs/abi.md section 9): members of ge::Session under their
 * Itanium-mangled names, called with the session handle as `this`, and the
 * extern "C" GeSessionLoadGraph of api/session/client/ge_api.cc.  Each is a
 * thin wrapper: enter, the implementation (ge_session.c, ge_run.c), leave;
 * LoadGraph in three phases, since it may call the stream allocator's
 * MallocFn (the graph's own memory). */
#include "stub_internal.h"

/* Status ge::Session::CompileGraph(uint32_t) */
Status _ZN2ge7Session12CompileGraphEj(void *self, uint32_t graph_id)
{
    ge_stub_enter();
    Status st = session_compile_graph_locked(__func__, self, graph_id);
    ge_stub_leave();
    return st;
}

/* bool ge::Session::IsGraphNeedRebuild(uint32_t) */
bool _ZN2ge7Session18IsGraphNeedRebuildEj(void *self, uint32_t graph_id)
{
    ge_stub_enter();
    bool v = session_graph_needs_rebuild_locked(__func__, self, graph_id);
    ge_stub_leave();
    return v;
}

/* uint64_t ge::Session::GetSessionId() const */
uint64_t _ZNK2ge7Session12GetSessionIdEv(const void *self)
{
    ge_stub_enter();
    uint64_t id = session_id_locked(__func__, self);
    ge_stub_leave();
    return id;
}

static Status load_graph(const char *fn, const void *session, uint32_t graph_id,
                         const void *options, void *stream)
{
    GeRun *run;
    ge_stub_enter();
    Status st = session_load_graph_begin_locked(fn, &run, session, graph_id, options, stream);
    ge_stub_leave();
    return ge_run_complete_unlocked(st, run);
}

/* Status ge::Session::LoadGraph(uint32_t,
 *     const std::map<AscendString, AscendString> &, void *) const */
Status _ZNK2ge7Session9LoadGraphEjRKSt3mapINS_12AscendStringES2_St4lessIS2_ESaISt4pairIKS2_S2_EEEPv(
    const void *self, uint32_t graph_id, const void *options, void *stream)
{
    return load_graph(__func__, self, graph_id, options, stream);
}

/* extern "C" Status GeSessionLoadGraph(ge::Session &, uint32_t,
 *     const std::map<AscendString, AscendString> &, void *stream) */
Status GeSessionLoadGraph(void *session, uint32_t graph_id, const void *options, void *stream)
{
    return load_graph(__func__, session, graph_id, options, stream);
}
