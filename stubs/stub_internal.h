/* ==========================================================================
 * stub_internal.h -- what the stand-in's source files share.
 *
 * The stand-in is a CPU model of Huawei Ascend GE and the ACL runtime that
 * exports the C ABI of docs/abi.md (README.md next to this file says
 * what it models and how it is built).  Its sources:
 *
 *   handles.c      the lock (enter/leave), handle table and lookup (strict
 *                  mode), fault injection, live counters
 *   id_map.c       a map from 64-bit keys to pointers (flat-cost lookups)
 *   errors.c       GE's error manager: queued reports, drained on read
 *   memory.c       "device" memory regions (a search tree) and host buffers
 *   graph_model.c  data types and their promotion, shapes, attributes,
 *                  nodes and graph definitions, shape/type inference
 *   graph_eval.c   evaluation of a graph: Add/Sub/Mul/Div with broadcasting
 *   allocators.c   stream allocators, their blocks, deferred callbacks
 *   streams.c      streams as work queues
 *   tensors.c      tensors and the tensor API
 *   tensor_text.c  the text form of a tensor's values (Tensor_GetData)
 *   tensor_descs.c tensor descriptions (ge::TensorDesc) and their API
 *   acl.c          the ACL runtime API
 *   ge_session.c   GE lifecycle, sessions, the ge::Session members
 *   ge_run.c       RunGraph, RunGraphWithStreamAsync and LoadGraph
 *   graphs.c       graph handles and the graph API, the readable dump
 *   graph_air.c    the stand-in's AIR file format (SaveToAir/LoadFromAir)
 *   builder.c      the eager-style graph builder (esb_funcs.h) and GNodes
 *   controls.c     GeStub_* test controls (exported by the core)
 *   lib_*.c        the exported functions of each CANN library, each a thin
 *                  wrapper: ge_stub_enter(), one *_locked call,
 *                  ge_stub_leave()
 *   symbols.def    which library exports which symbol
 *
 * The rules:
 *  - Every exported function takes the one lock with ge_stub_enter(), calls
 *    an implementation named *_locked that returns normally (it never
 *    unlocks), and calls ge_stub_leave(), which releases the lock and then
 *    makes the allocator callbacks the implementation queued (deferred()).
 *    No callback ever runs with the lock held.  The exceptions to "one
 *    call" are RunGraphWithStreamAsync and LoadGraph, which need the results
 *    of the stream allocator's MallocFn and GetAddrFn: they call
 *    *_begin_locked, then ge_run_complete_unlocked, which runs
 *    ge_run_allocate_unlocked (no lock held) and ge_run_finish_locked
 *    inside its own enter/leave.
 *  - A *_locked implementation that can be made to fail calls
 *    fault_fires(fn, &status) first and returns its failure value when it
 *    is true.  `fn` is always the exported function's name (the wrapper
 *    passes __func__): it names the function in messages, faults and
 *    misuse reports.
 *  - A handle argument is looked up with handle_lookup(fn, handle, kind,
 *    NULL policy); in strict mode (the default) a dead or foreign handle
 *    aborts the process there, as it would crash CANN.
 *  - lib_*.c files call nothing but ge_stub_enter, ge_stub_leave and the
 *    *_locked / *_unlocked functions: these are the only symbols the core
 *    library exports besides GeStub_* (ge/testing/build.py).
 * ========================================================================== */
#ifndef GE_STUB_INTERNAL_H
#define GE_STUB_INTERNAL_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ==========================================================================
 * Numbers
 * ========================================================================== */

typedef uint32_t Status;
typedef int aclError;

/* GE status codes (ge/ge_error_codes.h and friends) */
#define GE_SUCCESS                        0u
#define GE_FAILED                         4294967295u
#define GE_PARAM_INVALID                  1343225857u
#define GE_INTERNAL_ERROR                 1343225860u
#define GE_UNSUPPORTED                    1343225956u
#define GRAPH_PARAM_INVALID               50331649u
#define GE_CLI_GE_ALREADY_INITIALIZED     1343229962u
#define GE_CLI_GE_NOT_INITIALIZED         1343229963u
#define GE_SESS_GRAPH_NOT_EXIST           1343238146u
#define GE_SESS_GRAPH_ALREADY_EXIST       1343238147u
#define GE_SESSION_NOT_EXIST              1343238149u
#define GE_SESSION_MANAGER_NOT_INIT       1343238150u
#define GE_GRAPH_ALREADY_RUNNING          1343242241u
#define GE_GRAPH_GRAPH_NOT_EXIST          1343242242u
#define GE_GRAPH_GRAPH_ALREADY_EXIST      1343242243u
#define GE_GRAPH_MALLOC_FAILED            1343242245u
#define GE_GRAPH_PARAM_NULLPTR            1343242248u
#define GE_GRAPH_EXECUTE_FAILED           1343242261u
#define GE_GRAPH_NOT_BUILT                1343242295u
#define ACL_ERROR_GE_PARAM_INVALID        145000u
#define ACL_ERROR_GE_EXEC_NOT_INIT        145001u
#define ACL_ERROR_GE_MEMORY_ALLOCATION    245000u
#define ACL_ERROR_GE_INTERNAL_ERROR       545000u

/* ACL error codes (acl/acl_base_rt.h) */
#define ACL_SUCCESS                       0
#define ACL_ERROR_INVALID_PARAM           100000
#define ACL_ERROR_UNINITIALIZE            100001
#define ACL_ERROR_REPEAT_INITIALIZE       100002
#define ACL_ERROR_REPEAT_FINALIZE         100037
#define ACL_ERROR_RT_CONTEXT_NULL         107002
#define ACL_ERROR_BAD_ALLOC               200000
#define ACL_ERROR_API_NOT_SUPPORT         200001
#define ACL_ERROR_INVALID_DEVICE          200002
#define ACL_ERROR_INVALID_RESOURCE_HANDLE 200005
#define ACL_ERROR_STORAGE_OVER_LIMIT      300000
#define ACL_ERROR_INTERNAL_ERROR          500000
#define ACL_ERROR_FAILURE                 500001

/* graph/types.h DataType values supported by the stand-in */
enum {
    DT_FLOAT = 0, DT_FLOAT16 = 1, DT_INT8 = 2, DT_INT32 = 3, DT_UINT8 = 4,
    DT_INT16 = 6, DT_UINT16 = 7, DT_UINT32 = 8, DT_INT64 = 9, DT_UINT64 = 10,
    DT_DOUBLE = 11, DT_BOOL = 12, DT_STRING = 13, DT_COMPLEX64 = 16,
    DT_COMPLEX128 = 17, DT_BF16 = 27, DT_UNDEFINED = 28, DT_COMPLEX32 = 33
};
enum { PLACEMENT_HOST = 0, PLACEMENT_DEVICE = 1 };
enum { MEMCPY_H2H = 0, MEMCPY_H2D = 1, MEMCPY_D2H = 2, MEMCPY_D2D = 3,
       MEMCPY_DEFAULT = 4 };
#define FORMAT_ND 2

#define MAX_DIMS             64              /* CHOICE: rank limit */
#define DEFAULT_MEMORY_LIMIT (8ull << 30)    /* 8 GiB */
#define TOKEN_BASE           ((uintptr_t)0x5E0000000000ull)
#define AIR_MAX_BYTES        (256L << 20)

/* allocator callbacks (ABI.md 4.2) */
typedef void *(*MallocFn)(void *obj, size_t size);
typedef void (*FreeFn)(void *obj, void *block);
typedef void *(*GetAddrFn)(void *block);
typedef void (*OnDestroyFn)(void *user_handle);

/* ==========================================================================
 * Small utilities (handles.c)
 * ========================================================================== */

char *xstrdup(const char *s);
/* Grow an array to hold `need` elements; the (possibly moved) array, or
 * NULL on failure with the old array left intact. */
void *grow_array(void *arr, size_t *cap, size_t need, size_t elem);
static inline size_t max_sz(size_t a, size_t b) { return a > b ? a : b; }

/* A set of pointers handed out to the caller (dims arrays, tensor arrays). */
typedef struct PtrSet { void **v; size_t n, cap; } PtrSet;
bool ptrset_add(PtrSet *s, void *p);
bool ptrset_remove(PtrSet *s, const void *p);
void ptrset_free_all(PtrSet *s);

/* A map from 64-bit keys to non-NULL pointers, whose lookups cost the same
 * however many entries it holds (id_map.c).  Zero-initialised is empty. */
typedef struct IdEntry { uint64_t key; void *val; } IdEntry;
typedef struct IdMap { IdEntry *v; size_t n, cap; } IdMap;
void *idmap_get(const IdMap *m, uint64_t key);            /* NULL: absent */
bool idmap_put(IdMap *m, uint64_t key, void *val);        /* false: out of memory */
void *idmap_remove(IdMap *m, uint64_t key);               /* the value, or NULL */
void idmap_clear(IdMap *m);                               /* empty, storage freed */

/* ==========================================================================
 * The lock, deferred callbacks (handles.c)
 * ========================================================================== */

/* A callback call queued under the lock, made by ge_stub_leave(). */
enum { CALL_FREE, CALL_DESTROY };
typedef struct CbCall {
    int what;
    uint64_t alloc_id;
    FreeFn ffn;
    void *block;
    OnDestroyFn dfn;
    void *user;
} CbCall;
typedef struct CbList { CbCall *v; size_t n, cap; } CbList;

/* Take the lock (an exported function, on entry). */
void ge_stub_enter(void);
/* Release the lock, then make the callbacks queued on deferred(). */
void ge_stub_leave(void);
/* This thread's queue of callbacks for ge_stub_leave() (lock held). */
CbList *deferred(void);

/* ==========================================================================
 * GE's error manager (errors.c): reports queued by failing calls, drained
 * by GEGetErrorMsg / aclGetRecentErrMsg
 * ========================================================================== */

/* Queue a report on the calling thread: `code` is GE's error code ("E19999"
 * for GE's inner errors, "EH9999" for ACL's, "E10062"... for predefined
 * ones).  Inner reports get "[FUNC:fn][FILE:..][LINE:..]" appended. */
__attribute__((format(printf, 5, 6))) void report_error(const char *fn, const char *code,
                                                        const char *file, int line,
                                                        const char *fmt, ...);
/* GE's REPORT_INNER_ERR_MSG("E19999", ...), ACL's ACL_LOG_INNER_ERROR
 * ("EH9999") and REPORT_PREDEFINED_ERR_MSG(code, ...). */
#define ge_err(fn, ...) report_error((fn), "E19999", __FILE__, __LINE__, __VA_ARGS__)
#define acl_err(fn, ...) report_error((fn), "EH9999", __FILE__, __LINE__, __VA_ARGS__)
#define ge_err_code(fn, code, ...) report_error((fn), (code), __FILE__, __LINE__, __VA_ARGS__)
void messages_clear_all(void);   /* every thread's queue (GeStub_Reset) */

/* ==========================================================================
 * Live counters, fault injection (handles.c)
 * ========================================================================== */

enum {
    L_SESSIONS, L_GRAPHS, L_SESSION_GRAPHS, L_BUILDERS, L_TENSORS,
    L_TENSOR_ARRAYS, L_DIMS_ARRAYS, L_DEVICE_BLOCKS, L_HOST_BLOCKS,
    L_STREAMS, L_ALLOCATORS, L_ALLOCATOR_BLOCKS, L_PENDING_WORK, L_STRINGS,
    L_TENSOR_DESCS, L_GE_SESSIONS, L_COUNT
};
extern int64_t g_live[L_COUNT];
extern const char *const g_live_names[L_COUNT];

/* True when an injected fault for the exported function `fn` fires on this
 * call: *status is the status to fail with and the message is set.  Called
 * first by every failable implementation. */
bool fault_fires(const char *fn, uint32_t *status);
void faults_add(const char *fn, uint32_t status, int32_t nth);
int32_t faults_pending(void);
void faults_clear(void);
const char *faults_failable_text(void);   /* comma-separated, lock-free */

/* ==========================================================================
 * Handles: tokens -> objects, and the lookup every argument goes through
 * (handles.c)
 * ========================================================================== */

typedef enum {
    H_SESSION = 1, H_GRAPH, H_BUILDER, H_HOLDER, H_TENSOR, H_STREAM, H_TENSOR_DESC, H_NODE
} HandleKind;

/* What CANN does with a NULL handle in a given function:
 *  NULL_CHECKED  GE_ASSERT_NOTNULL or similar: the lookup returns NULL and
 *                the implementation returns its tidy failure value;
 *  NULL_CRASHES  no check in CANN: abort (strict mode) like a dead handle;
 *  NULL_ALLOWED  a valid argument (delete nullptr, the default stream):
 *                the lookup returns NULL and the implementation goes on. */
typedef enum { NULL_CHECKED, NULL_CRASHES, NULL_ALLOWED } NullPolicy;

typedef struct Obj {
    uintptr_t token;
    int kind;
    struct Obj *next;     /* hash chain */
} Obj;

void obj_register(Obj *o, HandleKind kind);
void obj_unregister(Obj *o);
/* The live object of `kind` behind `handle`, or NULL; never aborts (for
 * GeStub_ controls and internal use). */
void *obj_find(const void *handle, HandleKind kind);
static inline void *obj_handle(const Obj *o) { return (void *)o->token; }
/* Unregister and pass to fn every object (GeStub_Reset). */
void objs_drain(void (*fn)(Obj *));

/* The live object of `kind` behind the argument `handle` of the exported
 * function `fn`.  A live object of that kind is returned.  A non-NULL
 * handle that is not one (destroyed, of another kind, made up) aborts the
 * process with a message naming fn, the handle and the kind in strict mode
 * (the default: GeStub_SetMisuseAborts), and gives NULL in tidy mode.  A
 * NULL handle gives NULL, or aborts in strict mode under NULL_CRASHES. */
void *handle_lookup(const char *fn, const void *handle, HandleKind kind, NullPolicy nulls);
void misuse_set_aborts(bool on);
/* A call CANN would crash on that is not a bad handle (a NULL pointer it
 * dereferences, a negative count it allocates): in strict mode print
 * "ge_stub: <fn>: <what>" and abort; in tidy mode set the message and
 * return, and the caller returns its tidy failure value. */
__attribute__((format(printf, 2, 3))) void crashes_in_cann(const char *fn, const char *fmt, ...);
/* Take back a pointer the library handed out in `set` (dims arrays, tensor
 * arrays, strings): true when p was one (now removed; the caller frees it).
 * NULL gives false with nothing said (delete[] nullptr, free(NULL)).
 * Anything else is what CANN would delete[] or free() and crash on:
 * crashes_in_cann, then false. */
bool handed_out_take(const char *fn, PtrSet *set, const void *p, const char *what);
bool misuse_aborts(void);   /* strict mode on (may be read without the lock) */

/* Caller-owned strings (Graph_GetName, Tensor_GetData; CANN: a malloc'd copy,
 * AscendStringToChar in ge_api_c_wrapper_utils.h), freed by the caller with
 * GeApiWrapper_FreeString.  string_give returns a registered copy of s (NULL,
 * with a message, when out of memory); string_free_locked frees one (NULL is
 * a no-op, as free(NULL); anything else not handed out is what CANN would
 * crash on: strict mode aborts, tidy mode sets a message). */
char *string_give(const char *fn, const char *s);
void string_free_locked(const char *fn, char *p);
void strings_reset(void);   /* GeStub_Reset */

/* ==========================================================================
 * "Device" memory and host blocks (memory.c)
 * ========================================================================== */

enum { R_ACL = 1,      /* aclrtMalloc: device_blocks                 */
       R_DEFAULT,      /* built-in default allocator: device_blocks  */
       R_TENSOR,       /* GE's own output memory (a stream with no
                          allocator): not counted                    */
       R_HOST };       /* aclrtMallocHost: host_blocks               */

typedef struct Region { uint64_t id; uint8_t *base; size_t size; int kind; } Region;
/* Regions in a balanced search tree on their base address (they never
 * overlap), so the one holding an address is found in O(log n), and by id
 * and by base address (IdMaps: O(1)).  A Region * from a lookup is valid
 * until it is released. */
typedef struct RegionNode RegionNode;
typedef struct RegionSet { RegionNode *root; IdMap by_id, by_base; } RegionSet;

extern RegionSet g_dev;      /* every device region */
extern RegionSet g_hostmem;  /* blocks of aclrtMallocHost */
extern uint64_t g_mem_limit; /* bytes of g_dev before ACL_ERROR_BAD_ALLOC */
extern uint64_t g_next_id;   /* internal ids (regions, blocks, allocators) */

enum { RA_OK = 0, RA_LIMIT, RA_OOM };
int region_alloc(RegionSet *rs, size_t size, int kind, Region *out);
Region *region_by_id(RegionSet *rs, uint64_t id);
Region *region_by_base(RegionSet *rs, const void *p);
/* The region holding all of [p, p + len) (len >= 1), or NULL. */
Region *region_holding(RegionSet *rs, const void *p, size_t len);
bool region_overlaps(RegionSet *rs, const void *p, size_t len);
void region_release(RegionSet *rs, Region *r);
void regions_reset(void);
/* Host memory for tensor data (huge pages from 32 MiB, as numpy). */
uint8_t *host_alloc(size_t nbytes);

/* ==========================================================================
 * Data types, shapes, attributes, graph model, inference (graph_model.c);
 * evaluation (graph_eval.c)
 * ========================================================================== */

size_t dtype_size(int dt);          /* 0: no tensor of it in the stand-in */
float f16_to_f32(uint16_t h);
uint16_t f32_to_f16(float f);
double bf16_to_f64(uint16_t b);
uint16_t f32_to_bf16(float f);
/* GE's type promotion of two operands (opcommon::PromoteType of metadef's
 * op_common/data_type_utils.h), DT_UNDEFINED when there is none. */
int dtype_promote(int a, int b);

/* A shape; GE's unknown rank is the one dim -2 ([-2]), an unknown dim -1. */
typedef struct Shape { int n; int64_t d[MAX_DIMS]; } Shape;
bool shape_from(Shape *s, const int64_t *dims, int64_t n, int64_t min_dim);
bool shape_numel(const Shape *s, int64_t *out);
bool shape_nbytes(const Shape *s, int dt, size_t *out);
bool shape_unknown_rank(const Shape *s);
/* Whether a run's tensor of shape `actual` fits the declared `declared`
 * (-1 matches any size, [-2] any shape). */
bool shape_accepts(const Shape *declared, const Shape *actual);
/* numpy's broadcast of a and b; with unknown (-1) dims the static answer.
 * False when the shapes cannot broadcast. */
bool shape_broadcast(const Shape *a, const Shape *b, Shape *out);
void shape_text(const Shape *s, char *buf, size_t cap);

/* Attributes (esb_funcs.h EsSet{Int64,String,Bool}AttrFor{Graph,Tensor,Node}) */
enum { ATTR_INT = 1, ATTR_STR, ATTR_BOOL };
typedef struct Attr { char *name; int type; int64_t i; char *s; } Attr;
typedef struct AttrList { Attr *v; int n, cap; } AttrList;
/* Set (or replace) attribute `name`; false when out of memory. */
bool attrs_set(AttrList *l, const char *name, int type, int64_t i, const char *s);
bool attrs_copy(AttrList *dst, const AttrList *src);
void attrs_free(AttrList *l);

enum { OP_DATA = 0, OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_CONST, OP_VARIABLE, OP_COUNT };
#define OP_IS_BINARY(op) ((op) >= OP_ADD && (op) <= OP_DIV)
extern const char *const g_op_names[OP_COUNT];

typedef struct Node {
    int op;
    int a, b;            /* operand node indices (binary ops), -1 otherwise */
    int dtype, format;   /* of the node's one output */
    int64_t index;       /* Data: graph input index; Variable: its index attribute */
    Shape shape;         /* Data/Const/Variable: declared; ops: inferred (-1 unknown) */
    char *name, *type;
    uint8_t *value;      /* Const: its value, `nbytes` bytes */
    size_t nbytes;
    int *ctrl;           /* control-edge sources (node indices) */
    int nctrl;
    AttrList attrs;      /* node attributes */
    AttrList out_attrs;  /* attributes of the node's output tensor */
} Node;

/* A built graph.  Reference-counted and immutable once shared: graph
 * handles, session graphs and queued stream work share it; a graph handle
 * that changes it (a holder's setter after EsBuildGraphAndReset) first
 * takes its own copy (def_unshare). */
typedef struct GraphDef {
    int64_t refs;
    Node *nodes;
    int nnodes;
    int *inputs;   int nin;    /* node index of input i */
    int *outputs;  int nout;   /* node index of output i */
    AttrList attrs;            /* graph attributes */
} GraphDef;

/* A graph handle.  `body` names its content (GE's ComputeGraph): a new body
 * for a new graph and for LoadFromAir; holders of the builder that built it
 * reach its nodes while that body lives (GNode's weak reference). */
typedef struct GraphH { Obj h; char *name; GraphDef *def; uint64_t body; } GraphH;
typedef struct OutEntry { int64_t index; int node; } OutEntry;

void node_free_fields(Node *nd);
void nodes_free(Node *nodes, int n);
bool node_copy(Node *dst, const Node *src);
GraphDef *def_ref(GraphDef *d);
void def_unref(GraphDef *d);
/* A graph definition of `nodes` (taken on success only) and (index, node)
 * outputs; input and output indices must each be exactly 0..n-1. */
GraphDef *def_assemble(Node *nodes, int nnodes, const OutEntry *outs, int nouts,
                       char *why, size_t whylen);
GraphDef *def_empty(void);
/* g's definition, copied first if it is shared (NULL when out of memory). */
GraphDef *def_unshare(GraphH *g);
/* Best-effort inference of the ops' output data types and shapes, as the
 * graph's node descriptions show them (never fails). */
void def_infer(GraphDef *d);
/* GE's checks when it compiles a graph (GraphPrepare's InferShape and
 * friends): false, with the message set, when the graph cannot compile. */
bool def_compile(const char *fn, const GraphDef *d);
GraphH *graph_new(const char *name, GraphDef *def);
/* Give g a body never used before (false: out of memory, g unchanged). */
bool graph_new_body(GraphH *g);
/* The live graph handle whose content is `body`, or NULL. */
GraphH *graph_by_body(uint64_t body);
void graph_free(GraphH *g);
void graph_forget(GraphH *g);   /* GeStub_Reset: free g's own memory only */

/* Run-time shapes of every node (ns) from the run's input shapes. */
Status infer_shapes(const char *fn, const GraphDef *g, const Shape *in_shapes, Shape *ns);
bool graph_execute(const GraphDef *g, uint8_t *const *in_data, const Shape *ns,
                   uint8_t *const *out_dst);

/* ==========================================================================
 * Allocators, their blocks, callbacks (allocators.c)
 * ========================================================================== */

enum { CB_MALLOC, CB_FREE, CB_GET_ADDR, CB_ON_DESTROY, CB_COUNT };
extern const char *const g_cb_names[CB_COUNT];
extern _Atomic int64_t g_cb_count[CB_COUNT];

/* c_session.cc PyCallbackAllocator: the callbacks, held by shared owners
 * (std::shared_ptr): the per-stream map while registered, every block it
 * handed out, and calls in flight.  OnDestroyFn runs when the last goes. */
typedef struct Allocator {
    uint64_t id;
    int64_t refs;        /* the shared owners */
    bool registered, is_default;
    uintptr_t stream;    /* registration key (never NULL) */
    MallocFn mfn;
    FreeFn ffn;
    GetAddrFn gfn;
    OnDestroyFn dfn;
    void *user;
    /* PyCallbackAllocator::mutex, held while MallocFn+GetAddrFn or FreeFn
     * run; `owner` is the thread holding it (0: none). */
    pthread_mutex_t mu;
    _Atomic uintptr_t owner;
} Allocator;

/* A block handed out by an allocator (PyCallbackMemBlock): an output's
 * storage (users: the output tensor and the queued work writing into it,
 * and work reading it, see prepare_inputs) or GE's own non-output memory of
 * a loaded graph (user: the session graph). */
typedef struct ABlock {
    uint64_t id;
    int64_t refs;
    int64_t writers;     /* queued work items that will write into it */
    Allocator *alloc;
    void *block;         /* the callback's opaque handle */
    uint8_t *addr;       /* device address (GetAddrFn) */
    size_t nbytes;       /* the size asked for (padded) */
    uint64_t region;     /* id of the device region holding addr */
    struct ABlock *prev, *next;
} ABlock;

void cb_push(CbList *l, CbCall c);
/* Make the calls of `list` (lock NOT held) and free it. */
void callbacks_run(CbList *list);
Allocator *alloc_by_id(uint64_t id);
Allocator *alloc_for_stream(uintptr_t stream);
void alloc_unref(Allocator *a, CbList *cb);
void alloc_unregister(Allocator *a, CbList *cb);
ABlock *ablock_new(Allocator *a, void *block, uint8_t *addr, size_t nbytes, uint64_t region);
void ablock_unref(ABlock *b, CbList *cb);
/* Give an untracked block back to its allocator (FreeFn deferred). */
void alloc_hand_back(Allocator *al, void *block, CbList *cb);
void allocators_reset(void);

/* One MallocFn + GetAddrFn with the allocator's mutex held, no global lock
 * (the caller holds a reference).  false when the callback gave NULL, or
 * when this thread already holds the mutex (a callback calling back into its
 * own allocator: a deadlock on CANN, an abort in strict mode). */
bool alloc_malloc_unlocked(const char *fn, Allocator *a, size_t size, void **block,
                           void **addr);
/* GE's padded size of an output or memory block (model_manager.cc
 * CalcTensorSizeByShape): round up to 32 bytes, plus 32. */
static inline size_t ge_padded(size_t n) { return ((n + 31) / 32) * 32 + 32; }

/* ==========================================================================
 * Tensors (tensors.c)
 * ========================================================================== */

/* A ge::Tensor (metadef graph/normal_graph/tensor.cc): its description and
 * its storage (TensorData).  The placement is part of the description, a
 * label: the storage is host bytes of the tensor's own (`host`), else device
 * memory at `addr` (an aclrtMalloc block the tensor owns, from ToDevice, or
 * an allocator block, an async output), else nothing.  `nbytes` is the
 * storage size (ge::Tensor::GetSize, >= the logical size when padded). */
typedef struct Tensor {
    Obj h;
    int dtype, format, placement;
    Shape shape;
    int origin_format;
    bool origin_shape_set;
    Shape origin_shape;
    bool has_data;       /* false for CreateTensor's empty tensor */
    size_t nbytes;
    uint8_t *host;       /* host bytes (at least 1 byte), or NULL: with
                            has_data, nbytes > 0 and no addr, a failed
                            allocation (CANN's MallocAlignedPtr) */
    uint8_t *addr;       /* device memory */
    uint64_t region;     /* id of the region holding addr */
    bool own_region;     /* the region belongs to the tensor (ToDevice) */
    ABlock *blk;         /* or: an allocator block (async output) */
} Tensor;

/* A ge::TensorDesc (c_tensor_desc.cc; metadef tensor.cc TensorDescImpl). */
typedef struct TensorDesc {
    Obj h;
    int dtype, format, origin_format, placement;
    Shape shape, origin_shape;
    bool origin_shape_set;
} TensorDesc;

extern PtrSet g_tensor_arrays, g_dims_arrays;

Tensor *tensor_new(int dtype, int format, const Shape *shape);
/* The tensor's bytes, or NULL (no data, or its device memory is gone). */
const uint8_t *tensor_bytes(const Tensor *t);
/* Unregister and free t; its allocator block's FreeFn is queued on cb. */
void tensor_free(Tensor *t, CbList *cb);
/* Release the storage of t (its FreeFn, if any, queued on cb). */
void tensor_drop_storage(Tensor *t, CbList *cb);
/* The text of Tensor_GetData (tensor_text.c) for a storage of nbytes at p:
 * tensor_text_fixed gives what needs no value read ("<not_supported>",
 * "<empty>", "<invalid>"), else NULL; tensor_values_text the values,
 * "[v0,v1,...]", as a malloc'd string (NULL when out of memory). */
const char *tensor_text_fixed(int dtype, const uint8_t *p, size_t nbytes);
char *tensor_values_text(int dtype, const uint8_t *p, size_t nbytes);
/* A new dims array handed out to the caller (new int64_t[n], even for n = 0;
 * freed with FreeDimsArray), or NULL when out of memory. */
int64_t *dims_array_give(const Shape *s);
/* Copy a description into a tensor (ge::Tensor::SetTensorDesc) and out of
 * one (GetTensorDesc) (tensor_descs.c). */
void tensor_desc_apply(Tensor *t, const TensorDesc *d);
void tensor_desc_take(TensorDesc *d, const Tensor *t);

/* ==========================================================================
 * Streams and queued work (streams.c)
 * ========================================================================== */

/* One input of a queued graph run: a copy made at enqueue time, or (when
 * the input is an async output still waiting for its producer) a reference
 * to its allocator block, read when the work runs. */
typedef struct WorkIn {
    Shape shape;
    int dtype;
    size_t nbytes;
    uint8_t *copy;
    ABlock *blk;
    uint8_t *addr;
    uint64_t region;
} WorkIn;

enum { W_MEMCPY = 1, W_GRAPH };
typedef struct Work {
    struct Work *next;
    int type;
    /* W_MEMCPY: the regions / host blocks seen at enqueue time (0: none) */
    uint8_t *dst;
    const uint8_t *src;
    size_t count;
    uint64_t dst_region, src_region, dst_host, src_host;
    /* W_GRAPH */
    GraphDef *def;
    WorkIn *in;
    int nin;
    Shape *ns;           /* node shapes */
    ABlock **out;
    int nout;
} Work;

typedef struct Stream { Obj h; Work *head, *tail; int64_t n; } Stream;

/* The stream argument of the ACL function `fn`: NULL is the default
 * stream (GE's functions refuse NULL before they look a stream up). */
Stream *stream_lookup(const char *fn, void *stream);
/* Same without strict mode (GeStub_ controls, re-checks). */
Stream *stream_find(void *stream);
void stream_push(Stream *s, Work *w);
void workins_free(WorkIn *in, int n, CbList *cb);
void work_free(Work *w, CbList *cb);
/* Run every queued item of s in order; returns how many were skipped. */
int stream_drain(Stream *s, CbList *cb);
void stream_clear_silent(Stream *s);
void streams_reset(void);   /* the default stream's queue */

/* ==========================================================================
 * GE state and sessions (ge_session.c)
 * ========================================================================== */

/* A graph added to a session (GE's GraphNode). */
typedef struct SessGraph {
    uint32_t id;
    GraphDef *def;
    bool built;          /* compiled: by CompileGraph, RunGraph or a first async run */
    bool compile_api;    /* compiled by CompileGraph: RunGraph is UNSUPPORTED */
    bool loaded;         /* loaded on a stream (LoadGraph or the first async run) */
    ABlock *const_blk;   /* GE's const and feature-map memory from the */
    ABlock *feat_blk;    /* allocator of the stream it was loaded on */
} SessGraph;

/* GE's InnerSession, in the session manager under its id.  Its graphs are
 * kept in `g` (unordered; a finalize sorts them by id) and found by id through
 * `g_index` (graph id -> 1 + index in g), as GraphManager's map finds them. */
typedef struct InnerSession {
    uint64_t id;
    SessGraph *g;
    size_t ng, capg;
    IdMap g_index;
} InnerSession;

/* A ge::Session object: only its GE session id (sessionId_). */
typedef struct Session { Obj h; uint64_t gsid; } Session;

extern bool g_ge_init;

/* The inner session of a session handle for the C++ method `api`: FAILED
 * (after GE's report) when GE is not initialised or the session manager has
 * no session of that id. */
Status inner_for(const char *fn, const char *api, Session *s, InnerSession **out);
SessGraph *session_graph(InnerSession *in, uint32_t id);
/* Release what a session graph holds (its definition, its non-output
 * blocks: FreeFn deferred on cb). */
void sessgraph_release(SessGraph *sg, CbList *cb);
void ge_reset(void);

/* ==========================================================================
 * ACL state (acl.c), builder objects (builder.c)
 * ========================================================================== */

void acl_reset(void);
void acl_set_device_count(uint32_t count);

typedef struct Holder Holder;
typedef struct Builder {
    Obj h;
    char *name;
    bool built;          /* EsBuildGraphAndReset handed its graph away */
    uint64_t body;       /* then: the body of that graph */
    Node *nodes;      size_t nnodes, capnodes;   /* the graph being built */
    AttrList attrs;                              /* its graph attributes */
    Holder **holders; size_t nholders, capholders;
    OutEntry *outs;   size_t nouts, capouts;     /* outputs set so far */
    int64_t names;       /* GenerateNodeName's counter */
} Builder;
/* A tensor holder: output 0 of node `node` of its builder's graph (owned
 * by the builder until it is destroyed, as in CANN); `gnode` is the handle
 * EsGetProducer returns (made on first use). */
typedef struct GNodeH { Obj h; Holder *holder; } GNodeH;
struct Holder { Obj h; Builder *b; int node; GNodeH *gnode; };

void builder_forget(Builder *b);   /* GeStub_Reset: free b's own memory only */

/* ==========================================================================
 * The implementations of the exported functions.  `fn` is the exported
 * function's name.  Listed by the library that exports them (symbols.def).
 * ========================================================================== */

/* libascendcl.so (acl.c) */
aclError acl_init_locked(const char *fn, const char *config_path);
aclError acl_finalize_locked(const char *fn);
aclError acl_set_device_locked(const char *fn, int32_t device_id);
aclError acl_reset_device_locked(const char *fn, int32_t device_id);
aclError acl_get_device_locked(const char *fn, int32_t *device_id);
aclError acl_get_device_count_locked(const char *fn, uint32_t *count);
aclError acl_get_version_locked(const char *fn, int32_t *major, int32_t *minor,
                                int32_t *patch);
aclError acl_create_stream_locked(const char *fn, void **stream);
aclError acl_destroy_stream_locked(const char *fn, void *stream);
aclError acl_synchronize_stream_locked(const char *fn, void *stream);
aclError acl_malloc_locked(const char *fn, void **ptr, size_t size, int policy);
aclError acl_free_locked(const char *fn, void *ptr);
aclError acl_malloc_host_locked(const char *fn, void **ptr, size_t size);
aclError acl_free_host_locked(const char *fn, void *ptr);
aclError acl_memcpy_locked(const char *fn, void *dst, size_t dst_max, const void *src,
                           size_t count, int kind);
aclError acl_memcpy_async_locked(const char *fn, void *dst, size_t dst_max,
                                 const void *src, size_t count, int kind, void *stream);
aclError acl_memset_locked(const char *fn, void *ptr, size_t max_count, int32_t value,
                           size_t count);
const char *acl_recent_err_msg_locked(void);

/* libge_runtime_wrapper.so (ge_session.c, ge_run.c, allocators.c, tensors.c) */
Status ge_initialize_locked(const char *fn, char **keys, char **values, int size);
Status ge_finalize_locked(const char *fn);
bool ge_is_initialized_locked(void);
const char *ge_error_msg_locked(void);   /* errors.c */
void *session_create_locked(const char *fn, char **keys, char **values, int size,
                            bool with_options);
void session_destroy_locked(const char *fn, void *session);
Status session_add_graph_locked(const char *fn, void *session, uint32_t graph_id,
                                void *graph, char **keys, char **values, int size,
                                bool with_options);
Status session_remove_graph_locked(const char *fn, void *session, uint32_t graph_id);
Status session_run_graph_locked(const char *fn, void *session, uint32_t graph_id,
                                void **inputs, int input_count, void ***outputs,
                                size_t *output_count);
/* A run that needs memory from a stream's allocator, in three phases
 * (ge_run.c): begin (locked: check, plan the blocks, pin the allocator),
 * allocate (unlocked: MallocFn and GetAddrFn with the allocator's mutex),
 * finish (locked: use the blocks).  RunGraphWithStreamAsync and LoadGraph. */
typedef struct GeRun GeRun;
Status session_run_async_begin_locked(const char *fn, GeRun **run, void *session,
                                      uint32_t graph_id, void *stream, void **inputs,
                                      int input_count, void ***outputs,
                                      size_t *output_count);
void ge_run_allocate_unlocked(GeRun *run);
Status ge_run_finish_locked(GeRun *run);
/* The two phases after a begin that returned `st` (nothing when it failed):
 * allocate unlocked, then finish inside its own enter/leave. */
Status ge_run_complete_unlocked(Status st, GeRun *run);
void tensor_array_free_locked(const char *fn, void **tensors);
Status allocator_register_external_locked(const char *fn, void *session, void *stream,
                                          MallocFn malloc_fn, FreeFn free_fn,
                                          GetAddrFn get_addr_fn,
                                          OnDestroyFn on_destroy_fn, void *user_handle);
Status allocator_register_default_locked(const char *fn, void *session, void *stream);
Status allocator_unregister_locked(const char *fn, void *session, void *stream);
bool allocator_has_external_locked(void *stream);
bool allocator_has_default_locked(void *stream);
Status tensor_to_device_locked(const char *fn, void *tensor);
Status tensor_to_host_locked(const char *fn, void *tensor);

/* libge_runner.so: the ge::Session members and GeSessionLoadGraph of
 * ABI.md section 9 (ge_session.c, ge_run.c) */
Status session_compile_graph_locked(const char *fn, void *session, uint32_t graph_id);
bool session_graph_needs_rebuild_locked(const char *fn, void *session, uint32_t graph_id);
uint64_t session_id_locked(const char *fn, const void *session);
Status session_load_graph_begin_locked(const char *fn, GeRun **run, const void *session,
                                       uint32_t graph_id, const void *options,
                                       void *stream);

/* libgraph_wrapper.so (graphs.c, graph_air.c, builder.c, tensors.c) */
void *graph_create_locked(const char *fn, const char *name);
void graph_destroy_locked(const char *fn, void *graph);
char *graph_get_name_locked(const char *fn, void *graph);
char *graph_dump_locked(const char *fn, void *graph, int32_t format);
Status graph_save_air_locked(const char *fn, void *graph, const char *path);
Status graph_load_air_locked(const char *fn, void *graph, const char *path);
char *gnode_name_locked(const char *fn, void *node, bool type);
void *tensor_create_empty_locked(const char *fn);
void tensor_destroy_locked(const char *fn, void *tensor);
Status tensor_get_shape_locked(const char *fn, void *tensor, int64_t **dims,
                               size_t *dim_num);
void dims_array_free_locked(const char *fn, int64_t *dims);
int tensor_get_dtype_locked(const char *fn, void *tensor);
int tensor_get_format_locked(const char *fn, void *tensor);
int32_t tensor_get_placement_locked(const char *fn, void *tensor);
Status tensor_set_dtype_locked(const char *fn, void *tensor, const int *dtype);
Status tensor_set_format_locked(const char *fn, void *tensor, const int *format);
char *tensor_get_text_locked(const char *fn, void *tensor);
void *tensor_get_desc_locked(const char *fn, void *tensor);
/* (tensor_descs.c) */
void *tensor_desc_create_locked(const char *fn, const int64_t *dims, size_t dim_num,
                                int format, int data_type);
void tensor_desc_destroy_locked(const char *fn, void *desc);
/* which: 0 the shape, 1 the origin shape */
Status tensor_desc_get_dims_locked(const char *fn, int which, void *desc, int64_t **dims,
                                   size_t *dim_num);
Status tensor_desc_set_dims_locked(const char *fn, int which, void *desc,
                                   const int64_t *dims, size_t dim_num);
/* what: 0 the format, 1 the origin format, 2 the data type */
int tensor_desc_get_enum_locked(const char *fn, int what, void *desc);
Status tensor_desc_set_enum_locked(const char *fn, int what, void *desc, int value);

/* libgraph.so (tensors.c, tensor_descs.c) */
const uint8_t *tensor_raw_data_locked(const char *fn, void *tensor);
size_t tensor_raw_size_locked(const char *fn, void *tensor);
Status tensor_raw_set_data_locked(const char *fn, void *tensor, const uint8_t *data,
                                  size_t size);
Status tensor_set_desc_locked(const char *fn, void *tensor, const void *desc);

/* libeager_style_graph_builder_base.so (tensors.c, builder.c) */
void *tensor_create_es_locked(const char *fn, const void *data, const int64_t *dims,
                              int64_t dim_num, int data_type, int format);
void *tensor_create_es_file_locked(const char *fn, const char *path, const int64_t *dims,
                                   int64_t dim_num, int data_type, int format);
void *builder_create_locked(const char *fn, const char *name);
void builder_destroy_locked(const char *fn, void *builder);
void *builder_input_locked(const char *fn, void *builder, int64_t index, const char *name,
                           const char *type, int data_type, int format,
                           const int64_t *shape, int64_t dim_num);
/* EsCreateConst*, EsCreateVector*, EsCreateScalar*: `value` holds the
 * elements of `data_type` (INT64, INT32, UINT64, UINT32 or FLOAT). */
void *builder_const_locked(const char *fn, void *builder, int data_type, const void *value,
                           const int64_t *dims, int64_t dim_num);
void *builder_variable_locked(const char *fn, void *builder, int32_t index,
                              const char *name);
Status holder_set_dtype_locked(const char *fn, void *tensor_holder, int data_type);
Status holder_set_format_locked(const char *fn, void *tensor_holder, int format);
Status holder_set_shape_locked(const char *fn, void *tensor_holder, const int64_t *shape,
                               int64_t dim_num);
Status builder_set_output_locked(const char *fn, void *tensor_holder, int64_t output_index);
void *holder_owner_locked(const char *fn, void *tensor_holder);
void *holder_producer_locked(const char *fn, void *tensor_holder);
void *builder_build_locked(const char *fn, void *builder);
Status holder_control_edges_locked(const char *fn, void *dest, void **srcs, int64_t count);
/* `type` is ATTR_INT (i), ATTR_STR (s) or ATTR_BOOL (i) */
Status builder_graph_attr_locked(const char *fn, void *builder, const char *name, int type,
                                 int64_t i, const char *s);
Status holder_attr_locked(const char *fn, void *tensor_holder, bool of_tensor,
                          const char *name, int type, int64_t i, const char *s);
void builder_op_placeholder_locked(const char *fn);

/* libes_math.so (builder.c) */
void *builder_binary_op_locked(const char *fn, int op, void *x1, void *x2);

/* the test controls of controls.c are exported by the core itself */

#endif /* GE_STUB_INTERNAL_H */
