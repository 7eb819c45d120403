/* graph_model.c -- data types (float16 and bfloat16 included), shapes, the
 * graph model (nodes, immutable reference-counted graph definitions, graph
 * handles) and its evaluation: Add, Sub, Mul and Div computed for real. */
#include "stub_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ==========================================================================
 * Data types, float16 / bfloat16, shapes
 * ========================================================================== */


size_t dtype_size(int dt)
{
    switch (dt) {
    case DT_INT8: case DT_UINT8: case DT_BOOL:
        return 1;
    case DT_FLOAT16: case DT_INT16: case DT_UINT16: case DT_BF16:
        return 2;
    case DT_FLOAT: case DT_INT32: case DT_UINT32:
        return 4;
    case DT_INT64: case DT_UINT64: case DT_DOUBLE: case DT_COMPLEX64:
        return 8;
    case DT_COMPLEX128:
        return 16;
    default:
        return 0;
    }
}

/* dtypes in which Add/Sub/Mul/Div compute */
bool dtype_computes(int dt)
{
    return dt == DT_FLOAT || dt == DT_FLOAT16 || dt == DT_INT32 ||
           dt == DT_INT64 || dt == DT_DOUBLE;
}

static float f32_from_bits(uint32_t b) { float f; memcpy(&f, &b, 4); return f; }
static uint32_t f32_bits(float f) { uint32_t b; memcpy(&b, &f, 4); return b; }

/* IEEE binary16 -> binary32 (exact) */
float f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu, man = h & 0x3ffu, bits;
    if (exp == 0) {
        if (man == 0) {
            bits = sign;                       /* signed zero */
        } else {                               /* subnormal: normalise */
            uint32_t e = 113;                  /* 127 - 15 + 1 */
            while (!(man & 0x400u)) {
                man <<= 1;
                e--;
            }
            bits = sign | (e << 23) | ((man & 0x3ffu) << 13);
        }
    } else if (exp == 31) {
        bits = sign | 0x7f800000u | (man << 13);   /* inf / nan */
    } else {
        bits = sign | ((exp + 112) << 23) | (man << 13);
    }
    return f32_from_bits(bits);
}

/* IEEE binary32 -> binary16, round to nearest even (as numpy does) */
static uint16_t f32_to_f16(float f)
{
    uint32_t x = f32_bits(f);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
    uint32_t exp = x & 0x7f800000u, sig;

    if (exp >= 0x47800000u) {                  /* overflow, inf or nan */
        if (exp == 0x7f800000u && (x & 0x007fffffu)) {
            uint16_t r = (uint16_t)(0x7c00u + ((x & 0x007fffffu) >> 13));
            if (r == 0x7c00u)
                r++;                           /* keep it a nan */
            return (uint16_t)(sign + r);
        }
        return (uint16_t)(sign + 0x7c00u);
    }
    if (exp <= 0x38000000u) {                  /* subnormal half or zero */
        if (exp < 0x33000000u)
            return sign;
        uint32_t e = exp >> 23;
        sig = 0x00800000u + (x & 0x007fffffu);
        uint32_t shift = 113 - e;              /* 1..11 */
        uint32_t lost = sig & ((1u << shift) - 1u);
        sig >>= shift;
        /* round: the bit below the kept bits is bit 12 of sig now */
        if ((sig & 0x3fffu) != 0x1000u || lost)
            sig += 0x1000u;
        return (uint16_t)(sign + (sig >> 13));
    }
    uint16_t hexp = (uint16_t)((exp - 0x38000000u) >> 13);
    sig = x & 0x007fffffu;
    if ((sig & 0x3fffu) != 0x1000u)
        sig += 0x1000u;
    /* a carry out of the significand bumps the exponent (up to inf) */
    return (uint16_t)(sign + hexp + (sig >> 13));
}

double bf16_to_f64(uint16_t b)
{
    return (double)f32_from_bits((uint32_t)b << 16);
}

/* Copy caller dims into a Shape; min_dim is 0 for tensors, -1 for
 * declared graph inputs (-1 = unknown). */
bool shape_from(Shape *s, const int64_t *dims, int64_t n, int64_t min_dim)
{
    if (n < 0 || n > MAX_DIMS || (n > 0 && !dims))
        return false;
    s->n = (int)n;
    for (int i = 0; i < s->n; i++) {
        if (dims[i] < min_dim)
            return false;
        s->d[i] = dims[i];
    }
    return true;
}

bool shape_numel(const Shape *s, int64_t *out)
{
    int64_t n = 1;
    for (int i = 0; i < s->n; i++) {
        if (s->d[i] < 0)
            return false;
        if (s->d[i] != 0 && n > INT64_MAX / s->d[i])
            return false;
        n *= s->d[i];
    }
    *out = n;
    return true;
}

bool shape_nbytes(const Shape *s, int dt, size_t *out)
{
    int64_t n;
    size_t esz = dtype_size(dt);
    if (!esz || !shape_numel(s, &n) || (uint64_t)n > (uint64_t)INT64_MAX / esz)
        return false;
    *out = (size_t)n * esz;
    return true;
}

static bool shape_equal(const Shape *a, const Shape *b)
{
    if (a->n != b->n)
        return false;
    for (int i = 0; i < a->n; i++)
        if (a->d[i] != b->d[i])
            return false;
    return true;
}

/* all dims 1: exactly one element */
static bool shape_all_ones(const Shape *s)
{
    for (int i = 0; i < s->n; i++)
        if (s->d[i] != 1)
            return false;
    return true;
}

static bool shape_has_unknown(const Shape *s)
{
    for (int i = 0; i < s->n; i++)
        if (s->d[i] == -1)
            return true;
    return false;
}

/* numpy's broadcast of a one-element shape `one` against `other` */
static void shape_broadcast_one(const Shape *one, const Shape *other, Shape *out)
{
    int n = one->n > other->n ? one->n : other->n;
    int lead = n - other->n;
    out->n = n;
    for (int i = 0; i < n; i++)
        out->d[i] = i >= lead ? other->d[i - lead] : 1;
}

/* Build-time shape of a binary op: equal shapes (a -1 dim matches any),
 * one side with exactly one element (numpy broadcast), or any -1 dim on
 * either side (then checked at run time; result dims -1). */
bool static_binary_shape(const Shape *a, const Shape *b, Shape *out)
{
    if (a->n == b->n) {
        bool ok = true;
        for (int i = 0; i < a->n && ok; i++) {
            int64_t x = a->d[i], y = b->d[i];
            if (x == y)
                out->d[i] = x;
            else if (x == -1)
                out->d[i] = y == 1 ? -1 : y;
            else if (y == -1)
                out->d[i] = x == 1 ? -1 : x;
            else
                ok = false;
        }
        if (ok) {
            out->n = a->n;
            return true;
        }
    }
    if (shape_all_ones(a)) {
        shape_broadcast_one(a, b, out);
        return true;
    }
    if (shape_all_ones(b)) {
        shape_broadcast_one(b, a, out);
        return true;
    }
    if (shape_has_unknown(a) || shape_has_unknown(b)) {
        out->n = a->n > b->n ? a->n : b->n;   /* decided at run time */
        for (int i = 0; i < out->n; i++)
            out->d[i] = -1;
        return true;
    }
    return false;
}

/* Run-time shape of a binary op on known shapes. */
static bool runtime_binary_shape(const Shape *a, const Shape *b, Shape *out)
{
    if (shape_equal(a, b)) {
        *out = *a;
        return true;
    }
    if (shape_all_ones(a)) {
        shape_broadcast_one(a, b, out);
        return true;
    }
    if (shape_all_ones(b)) {
        shape_broadcast_one(b, a, out);
        return true;
    }
    return false;
}

void shape_text(const Shape *s, char *buf, size_t cap)
{
    size_t k = 0;
    buf[0] = '\0';
    k += (size_t)snprintf(buf, cap, "[");
    for (int i = 0; i < s->n && k < cap; i++)
        k += (size_t)snprintf(buf + k, cap - k, "%s%" PRId64, i ? "," : "", s->d[i]);
    if (k < cap)
        snprintf(buf + k, cap - k, "]");
}

/* ==========================================================================
 * Graph model: nodes, immutable graph definitions, graph handles
 * ========================================================================== */

const char *const g_op_names[OP_COUNT] = { "Data", "Add", "Sub", "Mul", "Div" };

void nodes_free(Node *nodes, int n)
{
    for (int i = 0; i < n; i++) {
        free(nodes[i].name);
        free(nodes[i].type);
    }
    free(nodes);
}

GraphDef *def_ref(GraphDef *d) { d->refs++; return d; }

void def_unref(GraphDef *d)
{
    if (!d || --d->refs > 0)
        return;
    nodes_free(d->nodes, d->nnodes);
    free(d->inputs);
    free(d->outputs);
    free(d);
}

/* Make a graph definition out of nodes and (index, node) outputs.  Input
 * indices and output indices must both be exactly 0..n-1.  Takes ownership
 * of `nodes` on success only. */
GraphDef *def_assemble(Node *nodes, int nnodes, const OutEntry *outs,
                              int nouts, char *why, size_t whylen)
{
    int nin = 0;
    for (int k = 0; k < nnodes; k++)
        nin += nodes[k].op == OP_DATA;
    int *in = malloc(sizeof(int) * (size_t)(nin ? nin : 1));
    int *out = malloc(sizeof(int) * (size_t)(nouts ? nouts : 1));
    GraphDef *d = calloc(1, sizeof *d);
    if (!in || !out || !d) {
        snprintf(why, whylen, "out of memory");
        goto fail;
    }
    for (int i = 0; i < nin; i++)
        in[i] = -1;
    for (int i = 0; i < nouts; i++)
        out[i] = -1;
    for (int k = 0; k < nnodes; k++) {
        if (nodes[k].op != OP_DATA)
            continue;
        int64_t idx = nodes[k].index;
        if (idx < 0 || idx >= nin || in[idx] != -1) {
            snprintf(why, whylen, "graph input indices must be exactly 0..%d "
                     "(bad or repeated index %" PRId64 ")", nin - 1, idx);
            goto fail;
        }
        in[idx] = k;
    }
    for (int j = 0; j < nouts; j++) {
        int64_t idx = outs[j].index;
        if (idx < 0 || idx >= nouts || out[idx] != -1) {
            snprintf(why, whylen, "graph output indices must be exactly 0..%d "
                     "(bad or repeated index %" PRId64 ")", nouts - 1, idx);
            goto fail;
        }
        if (outs[j].node < 0 || outs[j].node >= nnodes) {
            snprintf(why, whylen, "graph output %" PRId64 " names no node", idx);
            goto fail;
        }
        out[idx] = outs[j].node;
    }
    d->refs = 1;
    d->nodes = nodes;
    d->nnodes = nnodes;
    d->inputs = in;
    d->nin = nin;
    d->outputs = out;
    d->nout = nouts;
    return d;
fail:
    free(in);
    free(out);
    free(d);
    return NULL;
}

GraphDef *def_empty(void)
{
    char why[64];
    return def_assemble(NULL, 0, NULL, 0, why, sizeof why);
}

GraphH *graph_new(const char *name, GraphDef *def)
{
    GraphH *g = calloc(1, sizeof *g);
    char *nm = xstrdup(name);
    if (!g || !nm) {
        free(g);
        free(nm);
        return NULL;
    }
    g->name = nm;
    g->def = def;
    obj_register(&g->h, H_GRAPH);
    g_live[L_GRAPHS]++;
    return g;
}

void graph_free(GraphH *g)
{
    obj_unregister(&g->h);
    def_unref(g->def);
    free(g->name);
    free(g);
    g_live[L_GRAPHS]--;
}

/* ==========================================================================
 * Evaluation
 * ========================================================================== */

static int32_t i32_op(int op, int32_t x, int32_t y)
{
    uint32_t ux = (uint32_t)x, uy = (uint32_t)y;
    switch (op) {
    case OP_ADD: return (int32_t)(ux + uy);     /* integers wrap */
    case OP_SUB: return (int32_t)(ux - uy);
    case OP_MUL: return (int32_t)(ux * uy);
    default:
        if (y == 0)
            return 0;
        if (x == INT32_MIN && y == -1)
            return INT32_MIN;
        return x / y;                            /* truncates toward zero */
    }
}

static int64_t i64_op(int op, int64_t x, int64_t y)
{
    uint64_t ux = (uint64_t)x, uy = (uint64_t)y;
    switch (op) {
    case OP_ADD: return (int64_t)(ux + uy);
    case OP_SUB: return (int64_t)(ux - uy);
    case OP_MUL: return (int64_t)(ux * uy);
    default:
        if (y == 0)
            return 0;
        if (x == INT64_MIN && y == -1)
            return INT64_MIN;
        return x / y;
    }
}

static float f32_op(int op, float x, float y)
{
    switch (op) {
    case OP_ADD: return x + y;
    case OP_SUB: return x - y;
    case OP_MUL: return x * y;
    default: return x / y;
    }
}

static double f64_op(int op, double x, double y)
{
    switch (op) {
    case OP_ADD: return x + y;
    case OP_SUB: return x - y;
    case OP_MUL: return x * y;
    default: return x / y;
    }
}

/* out[i] = a[i*sa] op b[i*sb] for i < n; buffers are suitably aligned. */
#define BINARY_LOOP(T, EXPR)                                                  \
    do {                                                                      \
        const T *pa = (const T *)(const void *)a;                             \
        const T *pb = (const T *)(const void *)b;                             \
        T *po = (T *)(void *)out;                                             \
        for (int64_t i = 0; i < n; i++) {                                     \
            T x = pa[i * sa], y = pb[i * sb];                                 \
            po[i] = (EXPR);                                                   \
        }                                                                     \
    } while (0)

static void compute_op(int op, int dt, const uint8_t *a, int64_t sa,
                       const uint8_t *b, int64_t sb, uint8_t *out, int64_t n)
{
    switch (dt) {
    case DT_FLOAT:   BINARY_LOOP(float, f32_op(op, x, y)); break;
    case DT_DOUBLE:  BINARY_LOOP(double, f64_op(op, x, y)); break;
    case DT_INT32:   BINARY_LOOP(int32_t, i32_op(op, x, y)); break;
    case DT_INT64:   BINARY_LOOP(int64_t, i64_op(op, x, y)); break;
    case DT_FLOAT16: /* compute in float32, round to nearest even */
        BINARY_LOOP(uint16_t, f32_to_f16(f32_op(op, f16_to_f32(x), f16_to_f32(y))));
        break;
    default: break;
    }
}

/* Check the run's inputs against the declared inputs and infer every node's
 * shape (ns[k]).  Locked. */
Status infer_shapes(const char *fn, const GraphDef *g, const Shape *in_shapes,
                           Shape *ns)
{
    for (int k = 0; k < g->nnodes; k++) {
        const Node *nd = &g->nodes[k];
        if (nd->op == OP_DATA) {
            ns[k] = in_shapes[nd->index];
            continue;
        }
        if (!dtype_computes(nd->dtype)) {
            ge_err(fn, "op %s (%s) does not support data type %d in the stand-in",
                   nd->name, g_op_names[nd->op], nd->dtype);
            return ACL_ERROR_GE_PARAM_INVALID;
        }
        if (!runtime_binary_shape(&ns[nd->a], &ns[nd->b], &ns[k])) {
            char sa[128], sb[128];
            shape_text(&ns[nd->a], sa, sizeof sa);
            shape_text(&ns[nd->b], sb, sizeof sb);
            ge_err(fn, "op %s (%s): shapes %s and %s are not compatible",
                   nd->name, g_op_names[nd->op], sa, sb);
            return ACL_ERROR_GE_PARAM_INVALID;
        }
    }
    return GE_SUCCESS;
}

/* Run the graph: in_data[i] are aligned input buffers, ns the node shapes
 * from infer_shapes, out_dst[i] the (possibly unaligned) destinations.
 * Returns false when out of memory. */
bool graph_execute(const GraphDef *g, uint8_t *const *in_data,
                          const Shape *ns, uint8_t *const *out_dst)
{
    const uint8_t **res = calloc((size_t)(g->nnodes ? g->nnodes : 1), sizeof *res);
    uint8_t **owned = calloc((size_t)(g->nnodes ? g->nnodes : 1), sizeof *owned);
    bool ok = res && owned;
    for (int k = 0; ok && k < g->nnodes; k++) {
        const Node *nd = &g->nodes[k];
        if (nd->op == OP_DATA) {
            res[k] = in_data[nd->index];
            continue;
        }
        int64_t n = 0, na = 0, nb = 0;
        size_t nbytes;
        shape_numel(&ns[k], &n);
        shape_numel(&ns[nd->a], &na);
        shape_numel(&ns[nd->b], &nb);
        shape_nbytes(&ns[k], nd->dtype, &nbytes);
        owned[k] = malloc(max_sz(nbytes, 1));
        if (!owned[k]) {
            ok = false;
            break;
        }
        compute_op(nd->op, nd->dtype, res[nd->a], na == n ? 1 : 0,
                   res[nd->b], nb == n ? 1 : 0, owned[k], n);
        res[k] = owned[k];
    }
    for (int i = 0; ok && i < g->nout; i++) {
        int k = g->outputs[i];
        size_t nbytes;
        shape_nbytes(&ns[k], g->nodes[k].dtype, &nbytes);
        if (nbytes)
            memcpy(out_dst[i], res[k], nbytes);
    }
    for (int k = 0; owned && k < g->nnodes; k++)
        free(owned[k]);
    free(owned);
    free(res);
    return ok;
}

