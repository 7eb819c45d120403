/* lib_ge_runtime_wrapper.c -- the exported functions of
 * libge_runtime_wrapper.so (docs/abi.md sections 3, 4 and the placement part
 * of 6; CANN builds it from c_geapi.cc, c_session.cc and
 * c_tensor_runtime.cc), each a thin wrapper: enter, the implementation,
 * leave. */
#include "stub_internal.h"

/* ---- GE lifecycle (ge_session.c) ---- */

Status GeApiWrapper_GEInitialize(char **keys, char **values, int size)
{
    ge_stub_enter();
    Status st = ge_initialize_locked(__func__, keys, values, size);
    ge_stub_leave();
    return st;
}

Status GeApiWrapper_GEFinalize(void)
{
    ge_stub_enter();
    Status st = ge_finalize_locked(__func__);
    ge_stub_leave();
    return st;
}

bool GeApiWrapper_IsGEInitialized(void)
{
    ge_stub_enter();
    bool v = ge_is_initialized_locked();
    ge_stub_leave();
    return v;
}

const char *GeApiWrapper_GEGetErrorMsg(void)
{
    ge_stub_enter();
    const char *msg = ge_error_msg_locked();
    ge_stub_leave();
    return msg;
}

/* ---- sessions (ge_session.c, ge_run.c) ---- */

void *GeApiWrapper_Session_CreateSession(void)
{
    ge_stub_enter();
    void *h = session_create_locked(__func__, NULL, NULL, 0, false);
    ge_stub_leave();
    return h;
}

void *GeApiWrapper_Session_CreateSessionWithOptions(char **keys, char **values, int size)
{
    ge_stub_enter();
    void *h = session_create_locked(__func__, keys, values, size, true);
    ge_stub_leave();
    return h;
}

void GeApiWrapper_Session_DestroySession(void *session)
{
    ge_stub_enter();
    session_destroy_locked(__func__, session);
    ge_stub_leave();
}

Status GeApiWrapper_Session_AddGraph(void *session, uint32_t graph_id, void *graph)
{
    ge_stub_enter();
    Status st = session_add_graph_locked(__func__, session, graph_id, graph, NULL, NULL, 0,
                                         false);
    ge_stub_leave();
    return st;
}

Status GeApiWrapper_Session_AddGraphWithOptions(void *session, uint32_t graph_id,
                                                void *graph, char **keys, char **values,
                                                int size)
{
    ge_stub_enter();
    Status st = session_add_graph_locked(__func__, session, graph_id, graph, keys, values,
                                         size, true);
    ge_stub_leave();
    return st;
}

Status GeApiWrapper_Session_RemoveGraph(void *session, uint32_t graph_id)
{
    ge_stub_enter();
    Status st = session_remove_graph_locked(__func__, session, graph_id);
    ge_stub_leave();
    return st;
}

Status GeApiWrapper_Session_RunGraph(void *session, uint32_t graph_id, void **inputs,
                                     int input_count, void ***outputs, size_t *output_count)
{
    ge_stub_enter();
    Status st = session_run_graph_locked(__func__, session, graph_id, inputs, input_count,
                                         outputs, output_count);
    ge_stub_leave();
    return st;
}

/* In three phases: it needs the results of the stream allocator's MallocFn
 * and GetAddrFn, which run with no lock held. */
Status GeApiWrapper_Session_RunGraphWithStreamAsync(void *session, uint32_t graph_id,
                                                    void *stream, void **inputs,
                                                    int input_count, void ***outputs,
                                                    size_t *output_count)
{
    GeRun *run;
    ge_stub_enter();
    Status st = session_run_async_begin_locked(__func__, &run, session, graph_id, stream,
                                               inputs, input_count, outputs, output_count);
    ge_stub_leave();
    return ge_run_complete_unlocked(st, run);
}

void GeApiWrapper_Session_FreeTensorArray(void **tensors)
{
    ge_stub_enter();
    tensor_array_free_locked(__func__, tensors);
    ge_stub_leave();
}

/* ---- allocators (allocators.c) ---- */

Status GeApiWrapper_Session_RegisterExternalAllocator(void *session, void *stream,
                                                      MallocFn malloc_fn, FreeFn free_fn,
                                                      GetAddrFn get_addr_fn,
                                                      OnDestroyFn on_destroy_fn,
                                                      void *user_handle)
{
    ge_stub_enter();
    Status st = allocator_register_external_locked(__func__, session, stream, malloc_fn,
                                                   free_fn, get_addr_fn, on_destroy_fn,
                                                   user_handle);
    ge_stub_leave();
    return st;
}

Status GeApiWrapper_Session_RegisterDefaultAllocator(void *session, void *stream)
{
    ge_stub_enter();
    Status st = allocator_register_default_locked(__func__, session, stream);
    ge_stub_leave();
    return st;
}

Status GeApiWrapper_Session_UnregisterExternalAllocator(void *session, void *stream)
{
    ge_stub_enter();
    Status st = allocator_unregister_locked(__func__, session, stream);
    ge_stub_leave();
    return st;
}

bool GeApiWrapper_HasExternalAllocator(void *stream)
{
    ge_stub_enter();
    bool v = allocator_has_external_locked(stream);
    ge_stub_leave();
    return v;
}

bool GeApiWrapper_HasDefaultAllocator(void *stream)
{
    ge_stub_enter();
    bool v = allocator_has_default_locked(stream);
    ge_stub_leave();
    return v;
}

/* ---- tensor placement (tensors.c) ---- */

uint32_t GeApiWrapper_Tensor_ToHost(void *tensor)
{
    ge_stub_enter();
    Status st = tensor_to_host_locked(__func__, tensor);
    ge_stub_leave();
    return st;
}

uint32_t GeApiWrapper_Tensor_ToDevice(void *tensor)
{
    ge_stub_enter();
    Status st = tensor_to_device_locked(__func__, tensor);
    ge_stub_leave();
    return st;
}
