/* handles.c -- the lock and its enter/leave discipline, the handle table
 * and the one lookup every handle argument goes through (strict mode),
 * fault injection, live counters, small utilities.  The error messages are
 * in errors.c. */
#include "stub_internal.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ==========================================================================
 * Small utilities
 * ========================================================================== */

char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

void *grow_array(void *arr, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap && arr)
        return arr;
    size_t nc = *cap ? *cap : 8;
    while (nc < need) {
        if (nc > SIZE_MAX / 4 / elem)
            return NULL;
        nc *= 2;
    }
    void *p = realloc(arr, nc * elem);
    if (p)
        *cap = nc;
    return p;
}

bool ptrset_add(PtrSet *s, void *p)
{
    void **nv = grow_array(s->v, &s->cap, s->n + 1, sizeof *nv);
    if (!nv)
        return false;
    s->v = nv;
    s->v[s->n++] = p;
    return true;
}

bool ptrset_remove(PtrSet *s, const void *p)
{
    for (size_t i = 0; i < s->n; i++) {
        if (s->v[i] == p) {
            s->v[i] = s->v[--s->n];
            return true;
        }
    }
    return false;
}

void ptrset_free_all(PtrSet *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    s->v = NULL;
    s->n = s->cap = 0;
}

/* ==========================================================================
 * The lock: one mutex guards all state.  Exported functions take it with
 * ge_stub_enter() and give it back with ge_stub_leave(), which then makes
 * the allocator callbacks queued meanwhile, so no callback ever runs with
 * the lock held and a callback may call back into the library.
 * ========================================================================== */

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static _Thread_local bool t_inside;       /* this thread holds g_lock */
static _Thread_local CbList t_deferred;   /* callbacks for ge_stub_leave */

__attribute__((noreturn)) static void internal_abort(const char *what)
{
    fprintf(stderr, "ge_stub: internal error: %s\n", what);
    fflush(stderr);
    abort();
}

void ge_stub_enter(void)
{
    if (t_inside)
        internal_abort("ge_stub_enter while this thread holds the lock");
    pthread_mutex_lock(&g_lock);
    t_inside = true;
}

void ge_stub_leave(void)
{
    if (!t_inside)
        internal_abort("ge_stub_leave without ge_stub_enter");
    CbList due = t_deferred;
    t_deferred = (CbList){ 0 };
    t_inside = false;
    pthread_mutex_unlock(&g_lock);
    if (due.n)
        callbacks_run(&due);
    else
        free(due.v);
}

CbList *deferred(void)
{
    if (!t_inside)
        internal_abort("deferred() without the lock");
    return &t_deferred;
}

/* ==========================================================================
 * Live counters
 * ========================================================================== */

int64_t g_live[L_COUNT];
const char *const g_live_names[L_COUNT] = {
    "sessions", "graphs", "session_graphs", "builders", "tensors",
    "tensor_arrays", "dims_arrays", "device_blocks", "host_blocks",
    "streams", "allocators", "allocator_blocks", "pending_work", "strings",
    "tensor_descs", "ge_sessions"
};

/* ==========================================================================
 * Fault injection (GeStub_FailNext)
 * ========================================================================== */

/* The failable functions, in the order of symbols.def. */
#define LIBRARY(...)
#define WEAK(name, library)
#define SYMBOL(name, library, kind) SYMBOL_##kind(name)
#define SYMBOL_FAILABLE(name) #name,
#define SYMBOL_PLAIN(name)
static const char *const g_failable[] = {
#include "symbols.def"
};
#undef LIBRARY
#undef WEAK
#undef SYMBOL
#undef SYMBOL_FAILABLE
#undef SYMBOL_PLAIN
enum { FAILABLE_COUNT = (int)(sizeof g_failable / sizeof g_failable[0]) };

typedef struct Fault { int fn; uint32_t status; int32_t left; } Fault;
static Fault *g_faults;
static size_t g_nfaults, g_capfaults;

static int failable_index(const char *fn)
{
    for (int i = 0; i < FAILABLE_COUNT; i++)
        if (strcmp(fn, g_failable[i]) == 0)
            return i;
    return -1;
}

/* Count one call of `fn`.  CHOICE: if several faults fire on the same
 * call, all are consumed and the status of the one registered first is
 * used. */
bool fault_fires(const char *fn, uint32_t *status)
{
    if (g_nfaults == 0)
        return false;
    int id = failable_index(fn);
    bool hit = false;
    size_t j = 0;
    for (size_t i = 0; i < g_nfaults; i++) {
        Fault f = g_faults[i];
        if (f.fn == id && --f.left == 0) {
            if (!hit)
                *status = f.status;
            hit = true;
            continue;
        }
        g_faults[j++] = f;
    }
    g_nfaults = j;
    if (hit) {
        if (strncmp(fn, "acl", 3) == 0)
            acl_err(fn, "injected fault (status %" PRIu32 ")", *status);
        else
            ge_err(fn, "injected fault (status %" PRIu32 ")", *status);
    }
    return hit;
}

/* An unknown name or nth < 1 is ignored. */
void faults_add(const char *fn, uint32_t status, int32_t nth)
{
    int id = fn && nth >= 1 ? failable_index(fn) : -1;
    if (id < 0)
        return;
    Fault *nv = grow_array(g_faults, &g_capfaults, g_nfaults + 1, sizeof *nv);
    if (!nv)
        return;
    g_faults = nv;
    Fault f = { id, status, nth };
    g_faults[g_nfaults++] = f;
}

int32_t faults_pending(void) { return (int32_t)g_nfaults; }

void faults_clear(void) { g_nfaults = 0; }

static char g_failable_text[4096];
static pthread_once_t g_failable_once = PTHREAD_ONCE_INIT;

static void build_failable_text(void)
{
    size_t k = 0;
    for (int i = 0; i < FAILABLE_COUNT; i++) {
        int w = snprintf(g_failable_text + k, sizeof g_failable_text - k, "%s%s",
                         i ? "," : "", g_failable[i]);
        if (w < 0 || (size_t)w >= sizeof g_failable_text - k)
            break;
        k += (size_t)w;
    }
}

const char *faults_failable_text(void)
{
    pthread_once(&g_failable_once, build_failable_text);
    return g_failable_text;
}

/* ==========================================================================
 * Handle table: tokens -> objects.  Handles are numbered from one counter
 * that never repeats, so a new object never takes over an old handle.  The
 * table doubles when it holds more objects than buckets, so a lookup costs
 * the same however many objects live (CANN's handles are pointers: no
 * lookup at all).
 * ========================================================================== */

#define MIN_BUCKETS 4096
static Obj *g_first_buckets[MIN_BUCKETS];
static Obj **g_buckets = g_first_buckets;
static size_t g_nbuckets = MIN_BUCKETS;   /* a power of two; never shrinks */
static size_t g_nobjs;
static uint64_t g_next_token = 1;   /* never reset: tokens never repeat */

static size_t bucket_of(uintptr_t token)
{
    return (size_t)((token - TOKEN_BASE) >> 4) & (g_nbuckets - 1);
}

/* Twice the buckets; out of memory, the chains just grow longer. */
static void buckets_grow(void)
{
    size_t old_n = g_nbuckets;
    Obj **old = g_buckets;
    Obj **nv = calloc(old_n * 2, sizeof *nv);
    if (!nv)
        return;
    g_buckets = nv;
    g_nbuckets = old_n * 2;
    for (size_t b = 0; b < old_n; b++) {
        while (old[b]) {
            Obj *o = old[b];
            old[b] = o->next;
            size_t nb = bucket_of(o->token);
            o->next = g_buckets[nb];
            g_buckets[nb] = o;
        }
    }
    if (old != g_first_buckets)
        free(old);
}

void obj_register(Obj *o, HandleKind kind)
{
    o->token = TOKEN_BASE + (uintptr_t)(16 * g_next_token++);
    o->kind = (int)kind;
    if (g_nobjs >= g_nbuckets)
        buckets_grow();
    size_t b = bucket_of(o->token);
    o->next = g_buckets[b];
    g_buckets[b] = o;
    g_nobjs++;
}

void obj_unregister(Obj *o)
{
    Obj **pp = &g_buckets[bucket_of(o->token)];
    while (*pp && *pp != o)
        pp = &(*pp)->next;
    if (*pp) {
        *pp = o->next;
        g_nobjs--;
    }
}

/* The live object behind `handle` whatever its kind, or NULL: never
 * dereferences the handle itself. */
static Obj *obj_any(const void *handle)
{
    uintptr_t t = (uintptr_t)handle;
    if (t < TOKEN_BASE + 16 || (t - TOKEN_BASE) % 16 != 0)
        return NULL;
    for (Obj *o = g_buckets[bucket_of(t)]; o; o = o->next)
        if (o->token == t)
            return o;
    return NULL;
}

void *obj_find(const void *handle, HandleKind kind)
{
    Obj *o = obj_any(handle);
    return o && o->kind == (int)kind ? o : NULL;
}

void objs_drain(void (*fn)(Obj *))
{
    for (size_t b = 0; b < g_nbuckets; b++) {
        while (g_buckets[b]) {
            Obj *o = g_buckets[b];
            obj_unregister(o);
            fn(o);
        }
    }
}

/* ==========================================================================
 * The lookup of handle arguments, and strict mode
 * ========================================================================== */

static _Atomic bool g_misuse_aborts = true;   /* strict mode; GeStub_Reset restores it */
static PtrSet g_strings;               /* caller-owned strings handed out */

void misuse_set_aborts(bool on) { g_misuse_aborts = on; }
bool misuse_aborts(void) { return g_misuse_aborts; }

static const char *kind_name(int kind)
{
    switch (kind) {
    case H_SESSION: return "Session";
    case H_GRAPH:   return "Graph";
    case H_BUILDER: return "EsCGraphBuilder";
    case H_HOLDER:  return "EsCTensorHolder";
    case H_TENSOR:  return "Tensor";
    case H_STREAM:  return "Stream";
    case H_TENSOR_DESC: return "TensorDesc";
    case H_NODE:    return "GNode";
    default:        return "unknown";
    }
}

/* CANN would crash here: say where and abort (the lock is held: no other
 * thread gets in before the process ends). */
__attribute__((noreturn)) static void misuse_abort(const char *fn, const void *handle,
                                                  HandleKind kind, const Obj *actual)
{
    if (!handle)
        fprintf(stderr, "ge_stub: %s: NULL %s handle (CANN does not check it)\n", fn,
                kind_name((int)kind));
    else if (actual)
        fprintf(stderr, "ge_stub: %s: dead or foreign %s handle %p (a live %s)\n", fn,
                kind_name((int)kind), handle, kind_name(actual->kind));
    else
        fprintf(stderr, "ge_stub: %s: dead or foreign %s handle %p\n", fn,
                kind_name((int)kind), handle);
    fflush(stderr);
    abort();
}

void *handle_lookup(const char *fn, const void *handle, HandleKind kind, NullPolicy nulls)
{
    if (!handle) {
        if (nulls == NULL_CRASHES && g_misuse_aborts)
            misuse_abort(fn, handle, kind, NULL);
        return NULL;
    }
    Obj *o = obj_any(handle);
    if (o && o->kind == (int)kind)
        return o;
    if (g_misuse_aborts)
        misuse_abort(fn, handle, kind, o);
    return NULL;
}

void crashes_in_cann(const char *fn, const char *fmt, ...)
{
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (g_misuse_aborts) {
        fprintf(stderr, "ge_stub: %s: %s (CANN would crash here)\n", fn, what);
        fflush(stderr);
        abort();
    }
    ge_err(fn, "%s", what);
}

/* ==========================================================================
 * Pointers handed out to the caller
 * ========================================================================== */

bool handed_out_take(const char *fn, PtrSet *set, const void *p, const char *what)
{
    if (!p)
        return false;
    if (ptrset_remove(set, p))
        return true;
    char text[160];
    snprintf(text, sizeof text, "%p is not %s the library handed out", p, what);
    crashes_in_cann(fn, "%s", text);
    return false;
}

/* ==========================================================================
 * Caller-owned strings
 * ========================================================================== */

char *string_give(const char *fn, const char *s)
{
    size_t n = strlen(s) + 1;
    char *copy = malloc(n);
    if (!copy || !ptrset_add(&g_strings, copy)) {
        free(copy);
        ge_err(fn, "out of memory");
        return NULL;
    }
    memcpy(copy, s, n);
    g_live[L_STRINGS]++;
    return copy;
}

void string_free_locked(const char *fn, char *p)
{
    if (handed_out_take(fn, &g_strings, p, "a string")) {   /* CANN: free() */
        free(p);
        g_live[L_STRINGS]--;
    }
}

void strings_reset(void)
{
    ptrset_free_all(&g_strings);
}
