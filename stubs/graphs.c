/* graphs.c -- graph handles and the graph API of libgraph_wrapper.so
 * (api/python/ge/ge_api_c_wrapper/c_graph.cc): create, destroy, name, and
 * the dump of a graph as text (Graph::Dump of metadef
 * graph/normal_graph/graph.cc).  SaveToAir/LoadFromAir: graph_air.c. */
#include "stub_internal.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ==========================================================================
 * Graph API
 * ========================================================================== */

/* CHOICE: a NULL name is an error (NULL); CANN makes a std::string of it */
void *graph_create_locked(const char *fn, const char *name)
{
    uint32_t st;
    if (fault_fires(fn, &st))
        return NULL;
    GraphDef *d = name ? def_empty() : NULL;
    GraphH *g = d ? graph_new(name, d) : NULL;
    if (!g) {
        def_unref(d);
        ge_err(fn, name ? "out of memory" : "name is NULL");
        return NULL;
    }
    return obj_handle(&g->h);
}

void graph_destroy_locked(const char *fn, void *graph)
{
    GraphH *g = handle_lookup(fn, graph, H_GRAPH, NULL_ALLOWED);
    if (g)
        graph_free(g);
    else if (graph)
        ge_err(fn, "unknown or destroyed graph %p", graph);
}

/* A caller-owned copy (c_graph.cc: AscendStringToChar), freed with
 * GeApiWrapper_FreeString. */
char *graph_get_name_locked(const char *fn, void *graph)
{
    GraphH *g = handle_lookup(fn, graph, H_GRAPH, NULL_CHECKED);
    if (!g) {
        ge_err(fn, "graph %p is NULL or not a live graph", graph);
        return NULL;
    }
    return string_give(fn, g->name);
}

/* ==========================================================================
 * Text
 * ========================================================================== */

typedef struct Text { char *p; size_t n, cap; bool oom; } Text;

__attribute__((format(printf, 2, 3))) static void put(Text *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (t->oom || w < 0)
        return;
    char *nv = grow_array(t->p, &t->cap, t->n + (size_t)w + 1, 1);
    if (!nv) {
        t->oom = true;
        return;
    }
    t->p = nv;
    va_start(ap, fmt);
    vsnprintf(t->p + t->n, (size_t)w + 1, fmt, ap);
    va_end(ap);
    t->n += (size_t)w;
}

static const char *dtype_name(int dt)
{
    static const char *const names[] = {
        [DT_FLOAT] = "DT_FLOAT", [DT_FLOAT16] = "DT_FLOAT16", [DT_INT8] = "DT_INT8",
        [DT_INT32] = "DT_INT32", [DT_UINT8] = "DT_UINT8", [DT_INT16] = "DT_INT16",
        [DT_UINT16] = "DT_UINT16", [DT_UINT32] = "DT_UINT32", [DT_INT64] = "DT_INT64",
        [DT_UINT64] = "DT_UINT64", [DT_DOUBLE] = "DT_DOUBLE", [DT_BOOL] = "DT_BOOL",
        [DT_STRING] = "DT_STRING", [DT_COMPLEX64] = "DT_COMPLEX64",
        [DT_COMPLEX128] = "DT_COMPLEX128", [DT_BF16] = "DT_BF16",
        [DT_UNDEFINED] = "DT_UNDEFINED", [DT_COMPLEX32] = "DT_COMPLEX32",
    };
    if (dt >= 0 && dt < (int)(sizeof names / sizeof names[0]) && names[dt])
        return names[dt];
    return "DT_UNDEFINED";
}

static const char *format_name(int format)
{
    static const char *const names[] = { "NCHW", "NHWC", "ND" };
    return format >= 0 && format < 3 ? names[format] : "RESERVED";
}

static void put_quoted(Text *t, const char *s)
{
    put(t, "\"");
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            put(t, "\\%c", *s);
        else if ((unsigned char)*s < 0x20)
            put(t, "\\%03o", (unsigned)(unsigned char)*s);
        else
            put(t, "%c", *s);
    }
    put(t, "\"");
}

/* A Const's value as a list ("[1.000000, 2.000000]"), floats as
 * std::to_string writes them. */
static void put_value(Text *t, const Node *nd)
{
    size_t esz = dtype_size(nd->dtype);
    size_t n = esz ? nd->nbytes / esz : 0;
    put(t, "[");
    for (size_t i = 0; i < n; i++) {
        const uint8_t *p = nd->value + i * esz;
        if (i)
            put(t, ", ");
        if (nd->dtype == DT_FLOAT) {
            float f;
            memcpy(&f, p, 4);
            put(t, "%f", (double)f);
        } else if (nd->dtype == DT_INT64) {
            int64_t v;
            memcpy(&v, p, 8);
            put(t, "%" PRId64, v);
        } else if (nd->dtype == DT_UINT64) {
            uint64_t v;
            memcpy(&v, p, 8);
            put(t, "%" PRIu64, v);
        } else if (nd->dtype == DT_INT32) {
            int32_t v;
            memcpy(&v, p, 4);
            put(t, "%" PRId32, v);
        } else {
            uint32_t v;
            memcpy(&v, p, 4);
            put(t, "%" PRIu32, v);
        }
    }
    put(t, "]");
}

static void put_attr_value(Text *t, const Attr *a)
{
    if (a->type == ATTR_STR)
        put_quoted(t, a->s);
    else if (a->type == ATTR_BOOL)
        put(t, "%s", a->i ? "true" : "false");
    else
        put(t, "%" PRId64, a->i);
}

static int users_of(const GraphDef *d, int k)
{
    int users = 0;
    for (int j = 0; j < d->nnodes; j++)
        if (OP_IS_BINARY(d->nodes[j].op))
            users += (d->nodes[j].a == k) + (d->nodes[j].b == k);
    for (int i = 0; i < d->nout; i++)
        users += d->outputs[i] == k;
    return users;
}

/* GE's readable dump (metadef graph/utils/readable_dump.cc): one line per
 * node, then the outputs.  CHOICE: control inputs are listed too. */
static void dump_readable(Text *t, const char *name, const GraphDef *d)
{
    put(t, "graph(");
    put_quoted(t, name);
    put(t, "):\n");
    for (int k = 0; k < d->nnodes; k++) {
        const Node *nd = &d->nodes[k];
        put(t, "  %%%s : [#users=%d] = Node[type=%s] (", nd->name, users_of(d, k), nd->type);
        const char *sep = "";
        if (OP_IS_BINARY(nd->op)) {
            put(t, "inputs = (x1=%%%s, x2=%%%s)", d->nodes[nd->a].name,
                d->nodes[nd->b].name);
            sep = ", ";
        }
        if (nd->nctrl) {
            put(t, "%scontrol_inputs = (", sep);
            for (int c = 0; c < nd->nctrl; c++)
                put(t, "%s%%%s", c ? ", " : "", d->nodes[nd->ctrl[c]].name);
            put(t, ")");
            sep = ", ";
        }
        bool index = nd->op == OP_DATA || nd->op == OP_VARIABLE;
        if (index || nd->op == OP_CONST || nd->attrs.n) {
            put(t, "%sattrs = {", sep);
            const char *asep = "";
            if (index)
                put(t, "index: %" PRId64, nd->index), asep = ", ";
            if (nd->op == OP_CONST)
                put(t, "value: "), put_value(t, nd), asep = ", ";
            for (int i = 0; i < nd->attrs.n; i++) {
                put(t, "%s%s: ", asep, nd->attrs.v[i].name);
                put_attr_value(t, &nd->attrs.v[i]);
                asep = ", ";
            }
            put(t, "}");
        }
        put(t, ")\n");
    }
    if (d->nout == 0)
        return;
    put(t, "\n  return (");
    for (int i = 0; i < d->nout; i++) {
        const char *n = d->nodes[d->outputs[i]].name;
        if (d->nout == 1)
            put(t, "%%%s", n);
        else
            put(t, "%soutput_%d=%%%s", i ? ", " : "", i, n);
    }
    put(t, ")\n");
}

static void put_proto_attrs(Text *t, const char *indent, const AttrList *l)
{
    for (int i = 0; i < l->n; i++) {
        const Attr *a = &l->v[i];
        put(t, "%sattr {\n%s  key: ", indent, indent);
        put_quoted(t, a->name);
        put(t, "\n%s  value { %s: ", indent,
            a->type == ATTR_STR ? "s" : a->type == ATTR_BOOL ? "b" : "i");
        put_attr_value(t, a);
        put(t, " }\n%s}\n", indent);
    }
}

/* GE's own text form (ge.proto ModelDef): graph attributes, ops with their
 * inputs ("name:0", control inputs "name:-1"), attributes and output
 * descriptions. */
static void dump_txt(Text *t, const char *name, const GraphDef *d)
{
    put(t, "graph {\n  name: ");
    put_quoted(t, name);
    put(t, "\n");
    for (int i = 0; i < d->nin; i++)
        put(t, "  input: \"%s:0\"\n", d->nodes[d->inputs[i]].name);
    for (int i = 0; i < d->nout; i++)
        put(t, "  output: \"%s:0\"\n", d->nodes[d->outputs[i]].name);
    put_proto_attrs(t, "  ", &d->attrs);
    for (int k = 0; k < d->nnodes; k++) {
        const Node *nd = &d->nodes[k];
        put(t, "  op {\n    name: ");
        put_quoted(t, nd->name);
        put(t, "\n    type: ");
        put_quoted(t, nd->type);
        put(t, "\n");
        if (OP_IS_BINARY(nd->op))
            put(t, "    input: \"%s:0\"\n    input: \"%s:0\"\n", d->nodes[nd->a].name,
                d->nodes[nd->b].name);
        for (int c = 0; c < nd->nctrl; c++)
            put(t, "    input: \"%s:-1\"\n", d->nodes[nd->ctrl[c]].name);
        if (nd->op == OP_DATA || nd->op == OP_VARIABLE)
            put(t, "    attr {\n      key: \"index\"\n      value { i: %" PRId64 " }\n    }\n",
                nd->index);
        put_proto_attrs(t, "    ", &nd->attrs);
        put(t, "    output_desc {\n      dtype: %s\n      shape {", dtype_name(nd->dtype));
        for (int i = 0; i < nd->shape.n; i++)
            put(t, " dim: %" PRId64, nd->shape.d[i]);
        put(t, " }\n      layout: \"%s\"\n", format_name(nd->format));
        put_proto_attrs(t, "      ", &nd->out_attrs);
        put(t, "    }\n  }\n");
    }
    put(t, "}\n");
}

/* ONNX's text form (onnx.ModelProto, as GE's onnx dump writes it). */
static void dump_onnx(Text *t, const char *name, const GraphDef *d)
{
    put(t, "ir_version: 7\nproducer_name: \"GE\"\ngraph {\n  name: ");
    put_quoted(t, name);
    put(t, "\n");
    for (int k = 0; k < d->nnodes; k++) {
        const Node *nd = &d->nodes[k];
        put(t, "  node {\n");
        if (OP_IS_BINARY(nd->op))
            put(t, "    input: \"%s:0\"\n    input: \"%s:0\"\n", d->nodes[nd->a].name,
                d->nodes[nd->b].name);
        put(t, "    output: \"%s:0\"\n    name: ", nd->name);
        put_quoted(t, nd->name);
        put(t, "\n    op_type: \"ge:%s\"\n", nd->type);
        put(t, "    attribute {\n      name: \"output_desc_dtype:0\"\n      s: \"%s\"\n"
               "      type: STRING\n    }\n", dtype_name(nd->dtype));
        put(t, "    attribute {\n      name: \"output_desc_shape:0\"\n");
        for (int i = 0; i < nd->shape.n; i++)
            put(t, "      ints: %" PRId64 "\n", nd->shape.d[i]);
        put(t, "      type: INTS\n    }\n  }\n");
    }
    for (int i = 0; i < d->nout; i++)
        put(t, "  output {\n    name: \"%s:0\"\n  }\n", d->nodes[d->outputs[i]].name);
    put(t, "}\n");
}

/* GeApiWrapper_Graph_Dump_To_Stream: a caller-owned text (MallocCopyString),
 * freed with GeApiWrapper_FreeString.  Graph::Dump writes nothing (and
 * succeeds) for a format outside kOnnx 0, kTxt 1, kReadable 2. */
char *graph_dump_locked(const char *fn, void *graph, int32_t format)
{
    GraphH *g = handle_lookup(fn, graph, H_GRAPH, NULL_CHECKED);
    if (!g) {
        ge_err(fn, "graph is NULL");
        return NULL;
    }
    Text t = { NULL, 0, 0, false };
    put(&t, "%s", "");
    if (format == 0)
        dump_onnx(&t, g->name, g->def);
    else if (format == 1)
        dump_txt(&t, g->name, g->def);
    else if (format == 2)
        dump_readable(&t, g->name, g->def);
    char *out = t.oom ? NULL : string_give(fn, t.p);
    if (t.oom)
        ge_err(fn, "out of memory");
    free(t.p);
    return out;
}
