/* graph_eval.c -- running a graph on the CPU: Data, Const and Variable
 * nodes, and Add, Sub, Mul, Div with numpy's broadcasting.
 *
 * An op computes in its output data type (GE's promotion of the operand
 * types, def_compile has checked it): each operand is first converted to
 * that type (what the Cast GE inserts does), then the op runs in the
 * "domain" of the type -- 64-bit integers (wrapped to the type's width),
 * float32 (float, float16 and bfloat16, rounded back to nearest even, as
 * numpy computes float16), float64, or complex -- and the result is stored
 * in the output type. */
#include "stub_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { DOM_INT, DOM_F32, DOM_F64, DOM_C64, DOM_C128 };

static int domain_of(int dt)
{
    switch (dt) {
    case DT_FLOAT: case DT_FLOAT16: case DT_BF16: return DOM_F32;
    case DT_DOUBLE: return DOM_F64;
    case DT_COMPLEX64: return DOM_C64;
    case DT_COMPLEX128: return DOM_C128;
    default: return DOM_INT;
    }
}

static size_t domain_size(int dom)
{
    switch (dom) {
    case DOM_F32: return sizeof(float);
    case DOM_C64: return 2 * sizeof(float);
    case DOM_C128: return 2 * sizeof(double);
    default: return 8;
    }
}

/* element i of a buffer of `dt` (any real type the stand-in holds) */
static int64_t elem_i64(int dt, const uint8_t *p, int64_t i)
{
    switch (dt) {
    case DT_BOOL: return p[i] != 0;
    case DT_INT8: { int8_t v; memcpy(&v, p + i, 1); return v; }
    case DT_UINT8: return p[i];
    case DT_INT16: { int16_t v; memcpy(&v, p + 2 * i, 2); return v; }
    case DT_UINT16: { uint16_t v; memcpy(&v, p + 2 * i, 2); return v; }
    case DT_INT32: { int32_t v; memcpy(&v, p + 4 * i, 4); return v; }
    case DT_UINT32: { uint32_t v; memcpy(&v, p + 4 * i, 4); return v; }
    case DT_UINT64: { uint64_t v; memcpy(&v, p + 8 * i, 8); return (int64_t)v; }
    default: { int64_t v; memcpy(&v, p + 8 * i, 8); return v; }
    }
}

static bool is_float_type(int dt)
{
    return dt == DT_FLOAT || dt == DT_FLOAT16 || dt == DT_BF16 || dt == DT_DOUBLE;
}

static float elem_f32(int dt, const uint8_t *p, int64_t i)
{
    uint16_t h;
    float f;
    switch (dt) {
    case DT_FLOAT: memcpy(&f, p + 4 * i, 4); return f;
    case DT_FLOAT16: memcpy(&h, p + 2 * i, 2); return f16_to_f32(h);
    case DT_BF16: memcpy(&h, p + 2 * i, 2); return (float)bf16_to_f64(h);
    case DT_UINT64: { uint64_t v; memcpy(&v, p + 8 * i, 8); return (float)v; }
    default: return (float)elem_i64(dt, p, i);
    }
}

static double elem_f64(int dt, const uint8_t *p, int64_t i)
{
    double d;
    switch (dt) {
    case DT_DOUBLE: memcpy(&d, p + 8 * i, 8); return d;
    case DT_UINT64: { uint64_t v; memcpy(&v, p + 8 * i, 8); return (double)v; }
    default: return is_float_type(dt) ? (double)elem_f32(dt, p, i) : (double)elem_i64(dt, p, i);
    }
}

/* round a float32 value to `dt` (FLOAT16 or BF16) and back: the Cast */
static float round_to(int dt, float v)
{
    if (dt == DT_FLOAT16)
        return f16_to_f32(f32_to_f16(v));
    if (dt == DT_BF16)
        return (float)bf16_to_f64(f32_to_bf16(v));
    return v;
}

/* n elements of `src` (of src_dt) as values of `dt`, in dt's domain */
static void to_domain(int src_dt, const uint8_t *src, int64_t n, int dt, void *dst)
{
    switch (domain_of(dt)) {
    case DOM_INT:
        for (int64_t i = 0; i < n; i++)
            ((int64_t *)dst)[i] = elem_i64(src_dt, src, i);
        break;
    case DOM_F32:
        for (int64_t i = 0; i < n; i++)
            ((float *)dst)[i] = round_to(dt, elem_f32(src_dt, src, i));
        break;
    case DOM_F64:
        for (int64_t i = 0; i < n; i++)
            ((double *)dst)[i] = elem_f64(src_dt, src, i);
        break;
    case DOM_C64:
        for (int64_t i = 0; i < n; i++) {
            float *c = (float *)dst + 2 * i;
            if (src_dt == DT_COMPLEX64) {
                memcpy(c, src + 8 * i, 8);
            } else {
                c[0] = elem_f32(src_dt, src, i);
                c[1] = 0.0f;
            }
        }
        break;
    default:
        for (int64_t i = 0; i < n; i++) {
            double *c = (double *)dst + 2 * i;
            if (src_dt == DT_COMPLEX128) {
                memcpy(c, src + 16 * i, 16);
            } else if (src_dt == DT_COMPLEX64) {
                float f[2];
                memcpy(f, src + 8 * i, 8);
                c[0] = f[0];
                c[1] = f[1];
            } else {
                c[0] = elem_f64(src_dt, src, i);
                c[1] = 0.0;
            }
        }
        break;
    }
}

/* n values of dt's domain stored as `dt` (integers wrap, bool is != 0) */
static void from_domain(int dt, const void *src, int64_t n, uint8_t *dst)
{
    const int64_t *iv = src;
    const float *fv = src;
    for (int64_t i = 0; i < n; i++) {
        switch (dt) {
        case DT_BOOL: dst[i] = iv[i] != 0; break;
        case DT_INT8: case DT_UINT8: dst[i] = (uint8_t)(uint64_t)iv[i]; break;
        case DT_INT16: case DT_UINT16: {
            uint16_t v = (uint16_t)(uint64_t)iv[i];
            memcpy(dst + 2 * i, &v, 2);
            break;
        }
        case DT_INT32: {
            uint32_t v = (uint32_t)(uint64_t)iv[i];
            memcpy(dst + 4 * i, &v, 4);
            break;
        }
        case DT_INT64: memcpy(dst + 8 * i, &iv[i], 8); break;
        case DT_FLOAT16: {
            uint16_t h = f32_to_f16(fv[i]);
            memcpy(dst + 2 * i, &h, 2);
            break;
        }
        case DT_BF16: {
            uint16_t h = f32_to_bf16(fv[i]);
            memcpy(dst + 2 * i, &h, 2);
            break;
        }
        default:                      /* FLOAT, DOUBLE, COMPLEX64/128: as is */
            memcpy(dst + dtype_size(dt) * (size_t)i, (const uint8_t *)src +
                   dtype_size(dt) * (size_t)i, dtype_size(dt));
            break;
        }
    }
}

/* ==========================================================================
 * The ops in each domain
 * ========================================================================== */

static int64_t int_op(int op, int64_t x, int64_t y)
{
    uint64_t ux = (uint64_t)x, uy = (uint64_t)y;
    switch (op) {
    case OP_ADD: return (int64_t)(ux + uy);   /* wraps; stored at the type's width */
    case OP_SUB: return (int64_t)(ux - uy);
    case OP_MUL: return (int64_t)(ux * uy);
    default:
        if (y == 0)
            return 0;                          /* no trap: 0 */
        if (x == INT64_MIN && y == -1)
            return INT64_MIN;
        return x / y;                          /* truncates toward zero */
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

/* complex ops as numpy's loops compute them (Smith's division) */
#define COMPLEX_OP(T, ABS, op, a, b, r)                                        \
    do {                                                                       \
        T ar = (a)[0], ai = (a)[1], br = (b)[0], bi = (b)[1];                  \
        if ((op) == OP_ADD) {                                                  \
            (r)[0] = ar + br; (r)[1] = ai + bi;                                \
        } else if ((op) == OP_SUB) {                                           \
            (r)[0] = ar - br; (r)[1] = ai - bi;                                \
        } else if ((op) == OP_MUL) {                                           \
            (r)[0] = ar * br - ai * bi; (r)[1] = ar * bi + ai * br;            \
        } else if (ABS(br) >= ABS(bi)) {                                       \
            if (br == 0 && bi == 0) {                                          \
                (r)[0] = ar / ABS(br); (r)[1] = ai / ABS(br);                  \
            } else {                                                           \
                T rat = bi / br, scl = (T)1 / (br + bi * rat);                 \
                (r)[0] = (ar + ai * rat) * scl; (r)[1] = (ai - ar * rat) * scl; \
            }                                                                  \
        } else {                                                               \
            T rat = br / bi, scl = (T)1 / (bi + br * rat);                     \
            (r)[0] = (ar * rat + ai) * scl; (r)[1] = (ai * rat - ar) * scl;    \
        }                                                                      \
    } while (0)

/* fabs: the sign bit cleared, so that |-0.0| is +0.0 (a complex divided by
 * -0.0 is +inf, as numpy computes it) */
static float absf(float x) { return signbit(x) ? -x : x; }
static double absd(double x) { return signbit(x) ? -x : x; }

/* Broadcasting: strides (in elements) of an operand per output dim, 0
 * where the operand's dim is 1 (or missing) and the output's is not. */
typedef struct Bcast { int n; int64_t dims[MAX_DIMS], sa[MAX_DIMS], sb[MAX_DIMS]; } Bcast;

static void bcast_strides(const Shape *in, const Shape *out, int64_t *st)
{
    int64_t stride = 1;
    for (int i = out->n - 1; i >= 0; i--) {
        int j = i - (out->n - in->n);
        int64_t dim = j >= 0 ? in->d[j] : 1;
        st[i] = dim == 1 && out->d[i] != 1 ? 0 : stride;
        stride *= dim;
    }
}

/* out[k] = a[ia] op b[ib] over the output, in `dom` */
static void apply(int op, int dom, const Bcast *bc, int64_t total, const void *a,
                  const void *b, void *out)
{
    int64_t idx[MAX_DIMS] = { 0 }, ia = 0, ib = 0;
    for (int64_t k = 0; k < total; k++) {
        switch (dom) {
        case DOM_INT:
            ((int64_t *)out)[k] = int_op(op, ((const int64_t *)a)[ia], ((const int64_t *)b)[ib]);
            break;
        case DOM_F32:
            ((float *)out)[k] = f32_op(op, ((const float *)a)[ia], ((const float *)b)[ib]);
            break;
        case DOM_F64:
            ((double *)out)[k] = f64_op(op, ((const double *)a)[ia], ((const double *)b)[ib]);
            break;
        case DOM_C64:
            COMPLEX_OP(float, absf, op, (const float *)a + 2 * ia, (const float *)b + 2 * ib,
                       (float *)out + 2 * k);
            break;
        default:
            COMPLEX_OP(double, absd, op, (const double *)a + 2 * ia,
                       (const double *)b + 2 * ib, (double *)out + 2 * k);
            break;
        }
        for (int d = bc->n - 1; d >= 0; d--) {   /* the next output index */
            ia += bc->sa[d];
            ib += bc->sb[d];
            if (++idx[d] < bc->dims[d])
                break;
            ia -= bc->sa[d] * bc->dims[d];
            ib -= bc->sb[d] * bc->dims[d];
            idx[d] = 0;
        }
    }
}

/* Node k of g (a binary op) from its operands' bytes into `out`. */
static bool eval_op(const GraphDef *g, int k, const uint8_t *const *res, const Shape *ns,
                    uint8_t *out)
{
    const Node *nd = &g->nodes[k];
    const Node *na = &g->nodes[nd->a], *nb = &g->nodes[nd->b];
    int64_t n = 0, n_a = 0, n_b = 0;
    shape_numel(&ns[k], &n);
    shape_numel(&ns[nd->a], &n_a);
    shape_numel(&ns[nd->b], &n_b);
    int dom = domain_of(nd->dtype);
    size_t esz = domain_size(dom);
    void *a = malloc(esz * (size_t)(n_a ? n_a : 1));
    void *b = malloc(esz * (size_t)(n_b ? n_b : 1));
    void *r = malloc(esz * (size_t)(n ? n : 1));
    bool ok = a && b && r;
    if (ok) {
        Bcast bc;
        bc.n = ns[k].n;
        memcpy(bc.dims, ns[k].d, sizeof(int64_t) * (size_t)bc.n);
        bcast_strides(&ns[nd->a], &ns[k], bc.sa);
        bcast_strides(&ns[nd->b], &ns[k], bc.sb);
        to_domain(na->dtype, res[nd->a], n_a, nd->dtype, a);
        to_domain(nb->dtype, res[nd->b], n_b, nd->dtype, b);
        apply(nd->op, dom, &bc, n, a, b, r);
        from_domain(nd->dtype, r, n, out);
    }
    free(a);
    free(b);
    free(r);
    return ok;
}

bool graph_execute(const GraphDef *g, uint8_t *const *in_data, const Shape *ns,
                   uint8_t *const *out_dst)
{
    const uint8_t **res = calloc((size_t)(g->nnodes ? g->nnodes : 1), sizeof *res);
    uint8_t **owned = calloc((size_t)(g->nnodes ? g->nnodes : 1), sizeof *owned);
    bool ok = res && owned;
    for (int k = 0; ok && k < g->nnodes; k++) {
        const Node *nd = &g->nodes[k];
        size_t nbytes = 0;
        if (nd->op == OP_DATA) {
            res[k] = in_data[nd->index];
            continue;
        }
        if (nd->op == OP_CONST) {
            res[k] = nd->value;
            continue;
        }
        shape_nbytes(&ns[k], nd->dtype, &nbytes);
        /* a Variable reads as zeros: see stubs/README.md */
        owned[k] = calloc(1, max_sz(nbytes, 1));
        ok = owned[k] != NULL;
        if (ok && OP_IS_BINARY(nd->op))
            ok = eval_op(g, k, res, ns, owned[k]);
        res[k] = owned[k];
    }
    for (int i = 0; ok && i < g->nout; i++) {
        int k = g->outputs[i];
        size_t nbytes = 0;
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
