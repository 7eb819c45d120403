/* allocators.c -- the allocators registered per stream (external ones with
 * the caller's callbacks, and the built-in default one), the blocks they
 * handed out, the deferred callback calls, and the allocator functions of
 * the session API. */
#include "stub_internal.h"

#include <stdlib.h>

const char *const g_cb_names[CB_COUNT] = { "malloc", "free", "get_addr", "on_destroy" };
_Atomic int64_t g_cb_count[CB_COUNT];

Allocator *g_allocators;
static ABlock *g_ablocks;

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
    Allocator **pp = &g_allocators;
    while (*pp && *pp != a)
        pp = &(*pp)->next;
    if (*pp)
        *pp = a->next;
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

void callbacks_run(CbList *list)
{
    for (size_t i = 0; i < list->n; i++) {
        CbCall c = list->v[i];
        if (c.what == CALL_FREE) {
            atomic_fetch_add(&g_cb_count[CB_FREE], 1);
            c.ffn(NULL, c.block);
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
    for (Allocator *a = g_allocators; a; a = a->next)
        if (a->id == id)
            return a;
    return NULL;
}

Allocator *alloc_for_stream(uintptr_t stream)
{
    for (Allocator *a = g_allocators; a; a = a->next)
        if (a->registered && a->stream == stream)
            return a;
    return NULL;
}

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
    alloc_unref(a, cb);
}

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
    a->refs++;
    g_live[L_ALLOCATOR_BLOCKS]++;
    return b;
}

/* Drop one user of a block; the last one frees it (FreeFn deferred). */
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
    g_live[L_ALLOCATOR_BLOCKS]--;
    Allocator *a = b->alloc;
    if (a->is_default) {          /* built-in: no callbacks */
        Region *r = region_by_id(&g_dev, b->region);
        if (r)
            region_release(&g_dev, r);
        alloc_unref(a, cb);
    } else {                      /* the allocator's ref drops after FreeFn */
        CbCall c = { CALL_FREE, a->id, a->ffn, b->block, NULL, NULL };
        cb_push(cb, c);
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
    while (g_allocators) {
        Allocator *n = g_allocators->next;
        free(g_allocators);
        g_allocators = n;
    }
    for (int i = 0; i < CB_COUNT; i++)
        atomic_store(&g_cb_count[i], 0);
}

/* ==========================================================================
 * The allocator functions of the session API
 * ========================================================================== */

static Status register_allocator(const char *fn, void *stream, bool is_default,
                                 MallocFn mfn, FreeFn ffn, GetAddrFn gfn,
                                 OnDestroyFn dfn, void *user, CbList *cb)
{
    if (!stream_lookup(fn, stream)) {
        ge_err(fn, "unknown or destroyed stream %p", stream);
        return ACL_ERROR_GE_PARAM_INVALID;
    }
    if (!is_default && (!mfn || !ffn || !gfn)) {
        ge_err(fn, "MallocFn, FreeFn and GetAddrFn must not be NULL");
        return ACL_ERROR_GE_PARAM_INVALID;
    }
    Allocator *a = calloc(1, sizeof *a);
    if (!a) {
        ge_err(fn, "out of memory");
        return ACL_ERROR_GE_MEMORY_ALLOCATION;
    }
    Allocator *old = alloc_for_stream((uintptr_t)stream);
    if (old)
        alloc_unregister(old, cb);
    a->id = g_next_id++;
    a->refs = 1;
    a->registered = true;
    a->is_default = is_default;
    a->stream = (uintptr_t)stream;
    a->mfn = mfn;
    a->ffn = ffn;
    a->gfn = gfn;
    a->dfn = dfn;
    a->user = user;
    a->next = g_allocators;
    g_allocators = a;
    g_live[L_ALLOCATORS]++;
    return GE_SUCCESS;
}

/* CHOICE: OnDestroyFn may be NULL (then nothing is called). */
Status allocator_register_external_locked(const char *fn, void *session, void *stream,
                                          MallocFn malloc_fn, FreeFn free_fn,
                                          GetAddrFn get_addr_fn,
                                          OnDestroyFn on_destroy_fn, void *user_handle)
{
    Session *s;
    Status st;
    if (!session_ready(fn, session, &s, &st))
        return st;
    return register_allocator(fn, stream, false, malloc_fn, free_fn, get_addr_fn,
                              on_destroy_fn, user_handle, deferred());
}

Status allocator_register_default_locked(const char *fn, void *session, void *stream)
{
    Session *s;
    Status st;
    if (!session_ready(fn, session, &s, &st))
        return st;
    return register_allocator(fn, stream, true, NULL, NULL, NULL, NULL, NULL, deferred());
}

/* Unregisters whichever allocator the stream has (external or default);
 * a stream without one succeeds. */
Status allocator_unregister_locked(const char *fn, void *session, void *stream)
{
    Session *s;
    Status st;
    if (!session_ready(fn, session, &s, &st))
        return st;
    Allocator *a = alloc_for_stream((uintptr_t)stream);
    if (a)
        alloc_unregister(a, deferred());
    return GE_SUCCESS;
}

/* CHOICE: true for any registered allocator, the default one included. */
bool allocator_has_external_locked(void *stream)
{
    return alloc_for_stream((uintptr_t)stream) != NULL;
}

bool allocator_has_default_locked(void *stream)
{
    Allocator *a = alloc_for_stream((uintptr_t)stream);
    return a && a->is_default;
}
