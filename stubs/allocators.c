/* allocators.c -- the allocators registered per stream (external ones with
 * the caller's callbacks, and the built-in default one), the blocks they
 * handed out, the deferred callback calls, and the allocator functions of
 * the session API.
 *
 * After hicann/ge api/python/ge/ge_api_c_wrapper/c_session.cc
 * (PyCallbackAllocator, PyCallbackMemBlock, DefaultMalloc/DefaultFree, the
 * Register/Unregister wrappers), api/session/client/ge_api.cc and
 * base/common/model/external_allocator_manager.cc (the process-wide map
 * from stream to allocator):
 *  - an allocator is held by shared owners: the map while registered, each
 *    block it handed out, calls in flight; OnDestroyFn runs when the last
 *    one goes, which can be inside a Register that failed (the wrapper made
 *    the allocator before the session refused it), inside Unregister or a
 *    Register that replaced it, when its last block is freed, or never
 *    while the process runs (GeStub_Reset forgets it without a call);
 *  - its mutex is held while MallocFn and GetAddrFn (Malloc) or FreeFn
 *    (Free) run: other threads wait; the same thread calling back into the
 *    same allocator would deadlock on CANN and aborts here (strict mode). */
#include "stub_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

const char *const g_cb_names[CB_COUNT] = { "malloc", "free", "get_addr", "on_destroy" };
_Atomic int64_t g_cb_count[CB_COUNT];

/* ExternalAllocatorManager's std::map from stream to allocator (the
 * registered ones), and every live allocator by id (registered, or held by
 * its blocks and calls): lookups that do not grow with their number. */
static IdMap g_alloc_by_stream;
static IdMap g_alloc_by_id;
static ABlock *g_ablocks;

/* A per-thread address: the identity of the calling thread. */
static _Thread_local char t_self;
static uintptr_t self_id(void) { return (uintptr_t)&t_self; }

/* ==========================================================================
 * The allocator's mutex
 * ========================================================================== */

/* Take `a`'s mutex for `what` (a callback about to run).  false, with a
 * report, when this thread holds it already (tidy mode; strict mode aborts:
 * CANN's std::mutex would deadlock). */
static bool alloc_lock(const char *fn, Allocator *a, const char *what)
{
    if (atomic_load(&a->owner) == self_id()) {
        if (misuse_aborts()) {
            fprintf(stderr, "ge_stub: %s: %s of an allocator called from inside a callback "
                    "of the same allocator on the same thread: GE holds the allocator's "
                    "mutex while its callbacks run (a deadlock on CANN)\n", fn, what);
            fflush(stderr);
            abort();
        }
        ge_stub_enter();
        ge_err(fn, "%s re-entered the allocator of stream %p from its own callback "
               "(a deadlock on CANN)", what, (void *)a->stream);
        ge_stub_leave();
        return false;
    }
    pthread_mutex_lock(&a->mu);
    atomic_store(&a->owner, self_id());
    return true;
}

static void alloc_unlock(Allocator *a)
{
    atomic_store(&a->owner, (uintptr_t)0);
    pthread_mutex_unlock(&a->mu);
}

bool alloc_malloc_unlocked(const char *fn, Allocator *a, size_t size, void **block,
                           void **addr)
{
    *block = *addr = NULL;
    if (!alloc_lock(fn, a, "MallocFn"))
        return false;
    if (!a->is_default)
        atomic_fetch_add(&g_cb_count[CB_MALLOC], 1);
    *block = a->mfn(NULL, size);
    if (*block) {
        if (!a->is_default)
            atomic_fetch_add(&g_cb_count[CB_GET_ADDR], 1);
        *addr = a->gfn(*block);
    }
    alloc_unlock(a);
    return *block != NULL;
}

/* ==========================================================================
 * The built-in default allocator (c_session.cc DefaultMalloc, DefaultFree,
 * DefaultGetAddr): aclrtMalloc(ACL_MEM_MALLOC_NORMAL_ONLY) and aclrtFree;
 * the block handle is the device address itself.
 * ========================================================================== */

#define MEM_MALLOC_NORMAL_ONLY 2

static void *default_malloc(void *obj, size_t size)
{
    (void)obj;
    void *p = NULL;
    ge_stub_enter();
    aclError e = acl_malloc_locked("aclrtMalloc", &p, size, MEM_MALLOC_NORMAL_ONLY);
    ge_stub_leave();
    return e == ACL_SUCCESS ? p : NULL;
}

static void default_free(void *obj, void *block)
{
    (void)obj;
    if (!block)
        return;
    ge_stub_enter();
    (void)acl_free_locked("aclrtFree", block);
    ge_stub_leave();
}

static void *default_get_addr(void *block) { return block; }

/* ==========================================================================
 * Deferred callbacks
 * ========================================================================== */

void cb_push(CbList *l, CbCall c)
{
    CbCall *nv = grow_array(l->v, &l->cap, l->n + 1, sizeof *nv);
    if (!nv)
        return;                 /* out of memory: the call is lost */
    l->v = nv;
    l->v[l->n++] = c;
}

static void alloc_free_struct(Allocator *a)
{
    idmap_remove(&g_alloc_by_id, a->id);
    pthread_mutex_destroy(&a->mu);
    free(a);
    g_live[L_ALLOCATORS]--;
}

/* After a callback returned: drop the allocator reference the call held
 * (FreeFn), or free the allocator (OnDestroyFn).  Further calls this makes
 * necessary go to the end of `list`. */
static void callback_done_locked(const CbCall *c, CbList *list)
{
    Allocator *a = alloc_by_id(c->alloc_id);
    if (!a)
        return;                 /* forgotten by GeStub_Reset meanwhile */
    if (c->what == CALL_FREE)
        alloc_unref(a, list);
    else
        alloc_free_struct(a);
}

/* Free: FreeFn with the allocator's mutex held (PyCallbackAllocator::Free),
 * then the block's reference to the allocator goes. */
static void run_free(const CbCall *c)
{
    ge_stub_enter();
    Allocator *a = alloc_by_id(c->alloc_id);   /* alive: the call holds a reference */
    ge_stub_leave();
    if (!a || !alloc_lock("FreeFn", a, "FreeFn"))
        return;   /* tidy mode: a re-entrant free is skipped (CANN would hang) */
    if (!a->is_default)
        atomic_fetch_add(&g_cb_count[CB_FREE], 1);
    c->ffn(NULL, c->block);
    alloc_unlock(a);
}

void callbacks_run(CbList *list)
{
    for (size_t i = 0; i < list->n; i++) {
        CbCall c = list->v[i];
        if (c.what == CALL_FREE) {
            run_free(&c);
        } else {
            atomic_fetch_add(&g_cb_count[CB_ON_DESTROY], 1);
            c.dfn(c.user);
        }
        ge_stub_enter();
        callback_done_locked(&c, list);
        ge_stub_leave();
    }
    free(list->v);
    list->v = NULL;
    list->n = list->cap = 0;
}

/* ==========================================================================
 * Allocators and their blocks
 * ========================================================================== */

Allocator *alloc_by_id(uint64_t id)
{
    return idmap_get(&g_alloc_by_id, id);
}

Allocator *alloc_for_stream(uintptr_t stream)
{
    return idmap_get(&g_alloc_by_stream, stream);
}

/* ~PyCallbackAllocator calls OnDestroyFn (if any) when the last owner goes. */
void alloc_unref(Allocator *a, CbList *cb)
{
    if (--a->refs > 0)
        return;
    if (a->dfn) {   /* the struct lives until OnDestroyFn has returned */
        CbCall c = { CALL_DESTROY, a->id, NULL, NULL, a->dfn, a->user };
        cb_push(cb, c);
    } else {
        alloc_free_struct(a);
    }
}

void alloc_unregister(Allocator *a, CbList *cb)
{
    if (!a->registered)
        return;
    a->registered = false;
    if (alloc_for_stream(a->stream) == a)   /* else a Register replaced it */
        idmap_remove(&g_alloc_by_stream, a->stream);
    alloc_unref(a, cb);
}

/* a NULL: a block of GE's own device memory (region `region`), no callbacks. */
ABlock *ablock_new(Allocator *a, void *block, uint8_t *addr, size_t nbytes, uint64_t region)
{
    ABlock *b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    b->id = g_next_id++;
    b->refs = 1;
    b->alloc = a;
    b->block = block;
    b->addr = addr;
    b->nbytes = nbytes;
    b->region = region;
    b->next = g_ablocks;
    if (g_ablocks)
        g_ablocks->prev = b;
    g_ablocks = b;
    if (a) {
        a->refs++;                /* PyCallbackMemBlock::owner_ */
        g_live[L_ALLOCATOR_BLOCKS]++;
    }
    return b;
}

/* Drop one user of a block; the last one frees it (FreeFn deferred; the
 * allocator's reference goes after it). */
void ablock_unref(ABlock *b, CbList *cb)
{
    if (--b->refs > 0)
        return;
    if (b->prev)
        b->prev->next = b->next;
    else
        g_ablocks = b->next;
    if (b->next)
        b->next->prev = b->prev;
    Allocator *a = b->alloc;
    if (a) {
        g_live[L_ALLOCATOR_BLOCKS]--;
        CbCall c = { CALL_FREE, a->id, a->ffn, b->block, NULL, NULL };
        cb_push(cb, c);
    } else {                      /* GE's own memory */
        Region *r = region_by_id(&g_dev, b->region);
        if (r)
            region_release(&g_dev, r);
    }
    free(b);
}

/* The allocator reference is dropped after FreeFn, as for tracked blocks. */
void alloc_hand_back(Allocator *al, void *block, CbList *cb)
{
    CbCall c = { CALL_FREE, al->id, al->ffn, block, NULL, NULL };
    al->refs++;
    cb_push(cb, c);
}

/* Forget every block and allocator without calling anything. */
void allocators_reset(void)
{
    while (g_ablocks) {
        ABlock *n = g_ablocks->next;
        free(g_ablocks);
        g_ablocks = n;
    }
    for (size_t i = 0; i < g_alloc_by_id.cap; i++) {
        Allocator *a = g_alloc_by_id.v[i].val;
        if (a) {
            pthread_mutex_destroy(&a->mu);
            free(a);
        }
    }
    idmap_clear(&g_alloc_by_id);
    idmap_clear(&g_alloc_by_stream);
    for (int i = 0; i < CB_COUNT; i++)
        atomic_store(&g_cb_count[i], 0);
}

/* ==========================================================================
 * The allocator functions of the session API
 * ========================================================================== */

static Allocator *alloc_new(void *stream, bool is_default, MallocFn mfn, FreeFn ffn,
                            GetAddrFn gfn, OnDestroyFn dfn, void *user)
{
    Allocator *a = calloc(1, sizeof *a);
    if (!a || !idmap_put(&g_alloc_by_id, g_next_id, a)) {
        free(a);
        return NULL;
    }
    a->id = g_next_id++;
    a->refs = 1;                  /* the wrapper's std::shared_ptr */
    a->is_default = is_default;
    a->stream = (uintptr_t)stream;
    a->mfn = mfn;
    a->ffn = ffn;
    a->gfn = gfn;
    a->dfn = dfn;
    a->user = user;
    pthread_mutex_init(&a->mu, NULL);
    g_live[L_ALLOCATORS]++;
    return a;
}

/* The wrapper made the allocator; Session::RegisterExternalAllocator fails
 * (FAILED) when GE is not initialised or the session is dead, and then the
 * wrapper's reference is the last: OnDestroyFn runs inside this call.  On
 * success the map's reference replaces any allocator of the stream. */
static Status register_allocator(const char *fn, Session *s, void *stream, Allocator *a)
{
    CbList *cb = deferred();
    InnerSession *in;
    Status st = inner_for(fn, "RegisterExternalAllocator", s, &in);
    if (st) {
        ge_err(fn, "register external allocator failed, stream:%p.", stream);
        alloc_unref(a, cb);
        return st;
    }
    Allocator *old = alloc_for_stream((uintptr_t)stream);
    if (!idmap_put(&g_alloc_by_stream, (uintptr_t)stream, a)) {   /* never fails with old */
        ge_err(fn, "register external allocator failed (out of memory), stream:%p.", stream);
        alloc_unref(a, cb);
        return GE_FAILED;
    }
    a->registered = true;          /* the map's reference replaces the wrapper's */
    if (old)
        alloc_unregister(old, cb);
    return GE_SUCCESS;
}

static Session *alloc_session_arg(const char *fn, void *session, void *stream)
{
    Session *s = handle_lookup(fn, session, H_SESSION, NULL_CHECKED);
    if (!session || !stream)
        ge_err(fn, "Assert ((%s) != nullptr) failed", session ? "stream" : "session");
    return stream ? s : NULL;
}

/* CHOICE: OnDestroyFn may be NULL (then nothing is called), as the wrapper
 * does not check it. */
Status allocator_register_external_locked(const char *fn, void *session, void *stream,
                                          MallocFn malloc_fn, FreeFn free_fn,
                                          GetAddrFn get_addr_fn,
                                          OnDestroyFn on_destroy_fn, void *user_handle)
{
    uint32_t st;
    if (fault_fires(fn, &st))
        return st;
    Session *s = alloc_session_arg(fn, session, stream);
    if (!s)
        return GE_PARAM_INVALID;
    if (!malloc_fn || !free_fn || !get_addr_fn) {
        ge_err(fn, "Assert ((%s) != nullptr) failed",
               !malloc_fn ? "malloc_fn" : !free_fn ? "free_fn" : "get_addr_fn");
        return GE_PARAM_INVALID;
    }
    Allocator *a = alloc_new(stream, false, malloc_fn, free_fn, get_addr_fn, on_destroy_fn,
                             user_handle);
    if (!a) {
        ge_err(fn, "out of memory");
        return GE_FAILED;
    }
    return register_allocator(fn, s, stream, a);
}

Status allocator_register_default_locked(const char *fn, void *session, void *stream)
{
    uint32_t st;
    if (fault_fires(fn, &st))
        return st;
    Session *s = alloc_session_arg(fn, session, stream);
    if (!s)
        return GE_PARAM_INVALID;
    Allocator *a = alloc_new(stream, true, default_malloc, default_free, default_get_addr,
                             NULL, NULL);
    if (!a) {
        ge_err(fn, "out of memory");
        return GE_FAILED;
    }
    return register_allocator(fn, s, stream, a);
}

/* Drops whichever allocator the stream has (external or default): the
 * map's reference only, so OnDestroyFn may follow at once or much later. */
Status allocator_unregister_locked(const char *fn, void *session, void *stream)
{
    uint32_t st;
    if (fault_fires(fn, &st))
        return st;
    Session *s = alloc_session_arg(fn, session, stream);
    if (!s)
        return GE_PARAM_INVALID;
    InnerSession *in;
    if ((st = inner_for(fn, "UnregisterExternalAllocator", s, &in)))
        return st;
    Allocator *a = alloc_for_stream((uintptr_t)stream);
    if (a)
        alloc_unregister(a, deferred());
    return GE_SUCCESS;
}

/* ExternalAllocatorManager::GetExternalAllocator(stream) != nullptr: true
 * for the default allocator too; NULL has none. */
bool allocator_has_external_locked(void *stream)
{
    return alloc_for_stream((uintptr_t)stream) != NULL;
}

bool allocator_has_default_locked(void *stream)
{
    Allocator *a = alloc_for_stream((uintptr_t)stream);
    return a && a->is_default;
}
