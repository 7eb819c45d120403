/* graph_model.c -- data types (float16, bfloat16, GE's type promotion),
 * shapes (numpy broadcasting), attributes, the graph model (nodes,
 * reference-counted graph definitions, graph handles) and what GE checks
 * and infers when it compiles a graph.  Evaluation is in graph_eval.c. */
#include "stub_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ==========================================================================
 * Data types, float16 / bfloat16
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
uint16_t f32_to_f16(float f)
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

/* binary32 -> bfloat16, round to nearest even; a nan stays a (quiet) nan */
uint16_t f32_to_bf16(float f)
{
    uint32_t x = f32_bits(f);
    if ((x & 0x7f800000u) == 0x7f800000u && (x & 0x007fffffu))
        return (uint16_t)((x >> 16) | 0x0040u);
    x += 0x7fffu + ((x >> 16) & 1u);
    return (uint16_t)(x >> 16);
}

/* ==========================================================================
 * GE's type promotion (opcommon::PromoteType, metadef
 * inc/external/op_common/data_type_utils.h), written as its rules.
 * ========================================================================== */

static bool is_complex(int dt)
{
    return dt == DT_COMPLEX32 || dt == DT_COMPLEX64 || dt == DT_COMPLEX128;
}

static bool is_wide_unsigned(int dt)
{
    return dt == DT_UINT16 || dt == DT_UINT32 || dt == DT_UINT64;
}

static bool is_reduced_or_single(int dt)
{
    return dt == DT_FLOAT16 || dt == DT_BF16 || dt == DT_FLOAT;
}

/* rank of a signed integer (1..4), 0 for the others */
static int signed_rank(int dt)
{
    switch (dt) {
    case DT_INT8: return 1;
    case DT_INT16: return 2;
    case DT_INT32: return 3;
    case DT_INT64: return 4;
    default: return 0;
    }
}

static bool is_real_promotable(int dt)
{
    return dt == DT_BOOL || dt == DT_UINT8 || signed_rank(dt) || is_reduced_or_single(dt) ||
           dt == DT_DOUBLE;
}

int dtype_promote(int a, int b)
{
    if (a == b)
        return a;
    /* UINT16/32/64 promote only as the left operand, and only to complex */
    if (is_wide_unsigned(a)) {
        if (b == DT_COMPLEX128 || (b == DT_COMPLEX64 && a == DT_UINT64))
            return DT_COMPLEX128;
        return b == DT_COMPLEX64 ? DT_COMPLEX64 : DT_UNDEFINED;
    }
    if (!(is_real_promotable(a) || is_complex(a)) || !(is_real_promotable(b) || is_complex(b)))
        return DT_UNDEFINED;
    if (is_complex(a) || is_complex(b)) {
        if (a == DT_COMPLEX128 || b == DT_COMPLEX128 || a == DT_DOUBLE || b == DT_DOUBLE)
            return DT_COMPLEX128;
        if (a == DT_COMPLEX64 || b == DT_COMPLEX64)
            return DT_COMPLEX64;
        int other = a == DT_COMPLEX32 ? b : a;   /* COMPLEX32 with a real type */
        return other == DT_FLOAT || other == DT_BF16 ? DT_COMPLEX64 : DT_COMPLEX32;
    }
    if (a == DT_DOUBLE || b == DT_DOUBLE)
        return DT_DOUBLE;
    if (is_reduced_or_single(a) && is_reduced_or_single(b))
        return DT_FLOAT;                         /* any two different ones */
    if (is_reduced_or_single(a))
        return a;
    if (is_reduced_or_single(b))
        return b;
    if (a == DT_BOOL)
        return b;
    if (b == DT_BOOL)
        return a;
    int ra = signed_rank(a), rb = signed_rank(b);
    if (ra && rb)
        return ra > rb ? a : b;
    int other = ra ? a : b;                      /* UINT8 with a signed integer */
    return other == DT_INT8 ? DT_INT16 : other;
}

/* ==========================================================================
 * Shapes
 * ========================================================================== */

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

bool shape_unknown_rank(const Shape *s)
{
    return s->n == 1 && s->d[0] == -2;
}

bool shape_accepts(const Shape *declared, const Shape *actual)
{
    if (shape_unknown_rank(declared))
        return true;
    if (declared->n != actual->n)
        return false;
    for (int i = 0; i < declared->n; i++)
        if (declared->d[i] != -1 && declared->d[i] != actual->d[i])
            return false;
    return true;
}

/* numpy's rule per aligned pair of dims (a missing dim is 1); an unknown
 * dim (-1) takes the other side's size unless that is 1. */
bool shape_broadcast(const Shape *a, const Shape *b, Shape *out)
{
    if (shape_unknown_rank(a) || shape_unknown_rank(b)) {
        out->n = 1;
        out->d[0] = -2;
        return true;
    }
    int n = a->n > b->n ? a->n : b->n;
    Shape r;
    r.n = n;
    for (int i = 0; i < n; i++) {
        int ia = i - (n - a->n), ib = i - (n - b->n);
        int64_t x = ia >= 0 ? a->d[ia] : 1, y = ib >= 0 ? b->d[ib] : 1;
        if (x == y || y == 1)
            r.d[i] = x;
        else if (x == 1)
            r.d[i] = y;
        else if (x == -1)
            r.d[i] = y;
        else if (y == -1)
            r.d[i] = x;
        else
            return false;
    }
    *out = r;
    return true;
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
 * Attributes
 * ========================================================================== */

bool attrs_set(AttrList *l, const char *name, int type, int64_t i, const char *s)
{
    Attr *a = NULL;
    for (int k = 0; k < l->n && !a; k++)
        if (strcmp(l->v[k].name, name) == 0)
            a = &l->v[k];
    char *sv = type == ATTR_STR ? xstrdup(s) : NULL;
    if (type == ATTR_STR && !sv)
        return false;
    if (!a) {
        size_t cap = (size_t)l->cap;
        Attr *nv = grow_array(l->v, &cap, (size_t)l->n + 1, sizeof *nv);
        char *nm = nv ? xstrdup(name) : NULL;
        if (nv) {
            l->v = nv;
            l->cap = (int)cap;
        }
        if (!nm) {
            free(sv);
            return false;
        }
        a = &l->v[l->n++];
        a->name = nm;
    } else {
        free(a->s);
    }
    a->type = type;
    a->i = type == ATTR_BOOL ? (i != 0) : i;
    a->s = sv;
    return true;
}

bool attrs_copy(AttrList *dst, const AttrList *src)
{
    memset(dst, 0, sizeof *dst);
    for (int k = 0; k < src->n; k++) {
        const Attr *a = &src->v[k];
        if (!attrs_set(dst, a->name, a->type, a->i, a->s)) {
            attrs_free(dst);
            return false;
        }
    }
    return true;
}

void attrs_free(AttrList *l)
{
    for (int k = 0; k < l->n; k++) {
        free(l->v[k].name);
        free(l->v[k].s);
    }
    free(l->v);
    memset(l, 0, sizeof *l);
}

/* ==========================================================================
 * Nodes, graph definitions, graph handles
 * ========================================================================== */

const char *const g_op_names[OP_COUNT] = {
    "Data", "Add", "Sub", "Mul", "Div", "Const", "Variable"
};

void node_free_fields(Node *nd)
{
    free(nd->name);
    free(nd->type);
    free(nd->value);
    free(nd->ctrl);
    attrs_free(&nd->attrs);
    attrs_free(&nd->out_attrs);
    nd->name = nd->type = NULL;
    nd->value = NULL;
    nd->ctrl = NULL;
}

void nodes_free(Node *nodes, int n)
{
    for (int i = 0; i < n; i++)
        node_free_fields(&nodes[i]);
    free(nodes);
}

bool node_copy(Node *dst, const Node *src)
{
    *dst = *src;
    dst->name = xstrdup(src->name);
    dst->type = xstrdup(src->type);
    dst->value = src->value ? malloc(max_sz(src->nbytes, 1)) : NULL;
    dst->ctrl = src->nctrl ? malloc(sizeof(int) * (size_t)src->nctrl) : NULL;
    bool ok = dst->name && dst->type && (!src->value || dst->value) &&
              (!src->nctrl || dst->ctrl);
    AttrList a, o;
    memset(&a, 0, sizeof a);
    memset(&o, 0, sizeof o);
    ok = ok && attrs_copy(&a, &src->attrs);
    ok = ok && attrs_copy(&o, &src->out_attrs);
    dst->attrs = a;
    dst->out_attrs = o;
    if (!ok) {
        node_free_fields(dst);
        return false;
    }
    if (src->value && src->nbytes)
        memcpy(dst->value, src->value, src->nbytes);
    if (src->nctrl)
        memcpy(dst->ctrl, src->ctrl, sizeof(int) * (size_t)src->nctrl);
    return true;
}

GraphDef *def_ref(GraphDef *d) { d->refs++; return d; }

void def_unref(GraphDef *d)
{
    if (!d || --d->refs > 0)
        return;
    nodes_free(d->nodes, d->nnodes);
    free(d->inputs);
    free(d->outputs);
    attrs_free(&d->attrs);
    free(d);
}

GraphDef *def_assemble(Node *nodes, int nnodes, const OutEntry *outs, int nouts,
                       char *why, size_t whylen)
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
            snprintf(why, whylen, "graph input indexes must be exactly 0..%d "
                     "(bad or repeated index %" PRId64 ")", nin - 1, idx);
            goto fail;
        }
        in[idx] = k;
    }
    for (int j = 0; j < nouts; j++) {
        int64_t idx = outs[j].index;
        if (idx < 0 || idx >= nouts || out[idx] != -1) {
            snprintf(why, whylen, "graph output indexes must be exactly 0..%d "
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
    def_infer(d);
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

GraphDef *def_unshare(GraphH *g)
{
    GraphDef *d = g->def;
    if (d->refs == 1)
        return d;
    GraphDef *c = calloc(1, sizeof *c);
    Node *nodes = calloc((size_t)(d->nnodes ? d->nnodes : 1), sizeof *nodes);
    int *in = malloc(sizeof(int) * (size_t)(d->nin ? d->nin : 1));
    int *out = malloc(sizeof(int) * (size_t)(d->nout ? d->nout : 1));
    int copied = 0;
    bool ok = c && nodes && in && out && attrs_copy(&c->attrs, &d->attrs);
    while (ok && copied < d->nnodes && node_copy(&nodes[copied], &d->nodes[copied]))
        copied++;
    if (!ok || copied < d->nnodes) {
        nodes_free(nodes, copied);
        if (c)
            attrs_free(&c->attrs);
        free(c);
        free(in);
        free(out);
        return NULL;
    }
    memcpy(in, d->inputs, sizeof(int) * (size_t)d->nin);
    memcpy(out, d->outputs, sizeof(int) * (size_t)d->nout);
    c->refs = 1;
    c->nodes = nodes;
    c->nnodes = d->nnodes;
    c->inputs = in;
    c->nin = d->nin;
    c->outputs = out;
    c->nout = d->nout;
    def_unref(d);
    g->def = c;
    return c;
}

static uint64_t g_next_body = 1;   /* never reset: bodies never repeat */
static IdMap g_graph_by_body;      /* body -> the live graph handle holding it */

bool graph_new_body(GraphH *g)
{
    if (!idmap_put(&g_graph_by_body, g_next_body, g))
        return false;
    if (g->body)
        idmap_remove(&g_graph_by_body, g->body);
    g->body = g_next_body++;
    return true;
}

GraphH *graph_by_body(uint64_t body)
{
    return idmap_get(&g_graph_by_body, body);
}

GraphH *graph_new(const char *name, GraphDef *def)
{
    GraphH *g = calloc(1, sizeof *g);
    char *nm = xstrdup(name);
    if (!g || !nm || !graph_new_body(g)) {
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

void graph_forget(GraphH *g)
{
    idmap_remove(&g_graph_by_body, g->body);
    def_unref(g->def);
    free(g->name);
}

void graph_free(GraphH *g)
{
    obj_unregister(&g->h);
    graph_forget(g);
    free(g);
    g_live[L_GRAPHS]--;
}

/* ==========================================================================
 * What GE checks and infers when it compiles a graph
 * ========================================================================== */

/* The data types each op's IR accepts (its inputs and its output), as GE's
 * op prototypes declare them (ge tests/depends/op_stub/op_proto/inc/
 * elewise_calculation_ops.h: REG_OP(Add), (Sub), (Mul), (Div)). */
#define B(dt) (UINT64_C(1) << (dt))
static const uint64_t g_op_dtypes[OP_COUNT] = {
    [OP_ADD] = B(DT_BOOL) | B(DT_FLOAT) | B(DT_INT32) | B(DT_INT64) | B(DT_FLOAT16) |
               B(DT_BF16) | B(DT_INT16) | B(DT_INT8) | B(DT_UINT8) | B(DT_DOUBLE) |
               B(DT_COMPLEX128) | B(DT_COMPLEX64) | B(DT_STRING) | B(DT_COMPLEX32),
    [OP_SUB] = B(DT_FLOAT) | B(DT_FLOAT16) | B(DT_DOUBLE) | B(DT_UINT8) | B(DT_INT8) |
               B(DT_UINT16) | B(DT_INT16) | B(DT_INT32) | B(DT_INT64) | B(DT_BOOL) |
               B(DT_COMPLEX64) | B(DT_COMPLEX128) | B(DT_BF16) | B(DT_COMPLEX32),
    [OP_MUL] = B(DT_BOOL) | B(DT_FLOAT16) | B(DT_FLOAT) | B(DT_DOUBLE) | B(DT_UINT8) |
               B(DT_INT8) | B(DT_UINT16) | B(DT_INT16) | B(DT_INT32) | B(DT_INT64) |
               B(DT_BF16) | B(DT_COMPLEX64) | B(DT_COMPLEX128) | B(DT_COMPLEX32),
    [OP_DIV] = B(DT_FLOAT) | B(DT_FLOAT16) | B(DT_INT8) | B(DT_UINT8) | B(DT_INT32) |
               B(DT_DOUBLE) | B(DT_INT64) | B(DT_UINT16) | B(DT_INT16) | B(DT_COMPLEX64) |
               B(DT_COMPLEX128) | B(DT_BF16) | B(DT_COMPLEX32),
};
#undef B

static bool op_accepts(int op, int dt)
{
    return dt >= 0 && dt < 64 && (g_op_dtypes[op] >> dt) & 1u;
}

void def_infer(GraphDef *d)
{
    for (int k = 0; k < d->nnodes; k++) {
        Node *nd = &d->nodes[k];
        if (!OP_IS_BINARY(nd->op))
            continue;
        const Node *a = &d->nodes[nd->a], *b = &d->nodes[nd->b];
        int dt = dtype_promote(a->dtype, b->dtype);
        Shape s;
        if (dt != DT_UNDEFINED)
            nd->dtype = dt;
        if (shape_broadcast(&a->shape, &b->shape, &s))
            nd->shape = s;
        nd->format = a->format;
    }
}

static bool declared_shape_ok(const Shape *s)
{
    if (shape_unknown_rank(s))
        return true;
    for (int i = 0; i < s->n; i++)
        if (s->d[i] < -1)
            return false;
    return true;
}

/* The data and control edges have no cycle (Kahn's algorithm; data edges
 * always point forwards, control edges may not). */
static bool acyclic(const GraphDef *d, bool *ok)
{
    int n = d->nnodes;
    int *indeg = calloc((size_t)(n ? n : 1), sizeof *indeg);
    int *queue = malloc(sizeof(int) * (size_t)(n ? n : 1));
    if (!indeg || !queue) {
        free(indeg);
        free(queue);
        *ok = false;
        return true;
    }
    for (int k = 0; k < n; k++) {
        const Node *nd = &d->nodes[k];
        indeg[k] = nd->nctrl + (OP_IS_BINARY(nd->op) ? 2 : 0);
    }
    int head = 0, tail = 0;
    for (int k = 0; k < n; k++)
        if (!indeg[k])
            queue[tail++] = k;
    while (head < tail) {
        int src = queue[head++];
        for (int k = 0; k < n; k++) {   /* small graphs: a scan per node */
            const Node *nd = &d->nodes[k];
            int hits = 0;
            if (OP_IS_BINARY(nd->op))
                hits += (nd->a == src) + (nd->b == src);
            for (int c = 0; c < nd->nctrl; c++)
                hits += nd->ctrl[c] == src;
            if (hits && (indeg[k] -= hits) == 0)
                queue[tail++] = k;
        }
    }
    free(indeg);
    free(queue);
    *ok = true;
    return tail == n;
}

static bool compile_node(const char *fn, const GraphDef *d, int k, int *dts, Shape *shs)
{
    const Node *nd = &d->nodes[k];
    char s1[160], s2[160];
    dts[k] = nd->dtype;
    shs[k] = nd->shape;
    if (nd->op == OP_DATA || nd->op == OP_VARIABLE) {
        if (!dtype_size(nd->dtype)) {
            ge_err(fn, "graph cannot compile: %s %s has data type %d, which the stand-in "
                   "cannot hold", g_op_names[nd->op], nd->name, nd->dtype);
            return false;
        }
        int64_t n;
        if (!declared_shape_ok(&nd->shape) ||
            (nd->op == OP_VARIABLE && !shape_numel(&nd->shape, &n))) {
            shape_text(&nd->shape, s1, sizeof s1);
            ge_err(fn, "graph cannot compile: %s %s has shape %s", g_op_names[nd->op],
                   nd->name, s1);
            return false;
        }
        return true;
    }
    if (nd->op == OP_CONST) {
        size_t want;
        if (!shape_nbytes(&nd->shape, nd->dtype, &want) || want != nd->nbytes) {
            ge_err(fn, "graph cannot compile: Const %s holds %zu bytes, not a value of its "
                   "shape", nd->name, nd->nbytes);
            return false;
        }
        return true;
    }
    int da = dts[nd->a], db = dts[nd->b];
    int dt = dtype_promote(da, db);
    const char *op = g_op_names[nd->op];
    if (!op_accepts(nd->op, da) || !op_accepts(nd->op, db) || dt == DT_UNDEFINED ||
        !op_accepts(nd->op, dt)) {
        ge_err(fn, "graph cannot compile: %s %s: data types %d and %d are not supported "
               "(GE_GRAPH_INFERSHAPE_FAILED)", op, nd->name, da, db);
        return false;
    }
    if (!dtype_size(dt)) {
        ge_err(fn, "graph cannot compile: %s %s in data type %d: the stand-in does not "
               "compute it", op, nd->name, dt);
        return false;
    }
    if (!shape_broadcast(&shs[nd->a], &shs[nd->b], &shs[k])) {
        shape_text(&shs[nd->a], s1, sizeof s1);
        shape_text(&shs[nd->b], s2, sizeof s2);
        ge_err(fn, "graph cannot compile: %s %s: shapes %s and %s do not broadcast "
               "(GE_GRAPH_INFERSHAPE_FAILED)", op, nd->name, s1, s2);
        return false;
    }
    dts[k] = dt;
    return true;
}

bool def_compile(const char *fn, const GraphDef *d)
{
    int n = d->nnodes;
    int *dts = malloc(sizeof(int) * (size_t)(n ? n : 1));
    Shape *shs = malloc(sizeof(Shape) * (size_t)(n ? n : 1));
    bool ok = dts && shs, mem = true;
    if (!ok)
        ge_err(fn, "out of memory");
    for (int k = 0; ok && k < n; k++)
        ok = compile_node(fn, d, k, dts, shs);
    if (ok && !acyclic(d, &mem)) {
        ge_err(fn, "graph cannot compile: its control edges make a cycle");
        ok = false;
    }
    if (ok && !mem) {
        ge_err(fn, "out of memory");
        ok = false;
    }
    free(dts);
    free(shs);
    return ok;
}

Status infer_shapes(const char *fn, const GraphDef *g, const Shape *in_shapes, Shape *ns)
{
    for (int k = 0; k < g->nnodes; k++) {
        const Node *nd = &g->nodes[k];
        if (nd->op == OP_DATA) {
            ns[k] = in_shapes[nd->index];
            continue;
        }
        if (!OP_IS_BINARY(nd->op)) {
            ns[k] = nd->shape;
            continue;
        }
        if (!dtype_size(nd->dtype) || !shape_broadcast(&ns[nd->a], &ns[nd->b], &ns[k])) {
            char sa[160], sb[160];
            shape_text(&ns[nd->a], sa, sizeof sa);
            shape_text(&ns[nd->b], sb, sizeof sb);
            ge_err(fn, "%s %s: shapes %s and %s do not broadcast", g_op_names[nd->op],
                   nd->name, sa, sb);
            return ACL_ERROR_GE_PARAM_INVALID;
        }
    }
    return GE_SUCCESS;
}
