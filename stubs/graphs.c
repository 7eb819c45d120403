/* graphs.c -- graph handles and the graph API (libgraph_wrapper.so), the
 * stand-in's own "AIR" text format, and the eager-style graph builder
 * (libeager_style_graph_builder_base.so, the ops of libes_math.so). */
#include "stub_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ==========================================================================
 * Graph API
 * ========================================================================== */

/* CHOICE: a NULL name is an error (NULL), here and in EsCreateGraphBuilder */
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
 * The stand-in's AIR format
 * ========================================================================== */

/* File format (whitespace-separated tokens, strings hex-encoded, "-" for
 * an empty string):
 *   GESTUB_AIR 1
 *   name <hex>
 *   node <op> <a> <b> <dtype> <format> <index> <ndims> <dims...> <name> <type>
 *   output <node>
 *   end
 */
static void hex_write(FILE *f, const char *s)
{
    if (!*s)
        fputc('-', f);
    for (; *s; s++)
        fprintf(f, "%02x", (unsigned)(unsigned char)*s);
}

static char *hex_read(const char *tok)
{
    if (!tok)
        return NULL;
    if (strcmp(tok, "-") == 0)
        return xstrdup("");
    size_t n = strlen(tok);
    if (n % 2)
        return NULL;
    char *out = malloc(n / 2 + 1);
    if (!out)
        return NULL;
    for (size_t i = 0; i < n / 2; i++) {
        unsigned v = 0;
        for (int j = 0; j < 2; j++) {
            char c = tok[2 * i + (size_t)j];
            unsigned x = c >= '0' && c <= '9' ? (unsigned)(c - '0')
                       : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10) : 16u;
            if (x > 15) {
                free(out);
                return NULL;
            }
            v = v * 16 + x;
        }
        if (v == 0) {             /* no embedded NULs */
            free(out);
            return NULL;
        }
        out[i] = (char)v;
    }
    out[n / 2] = '\0';
    return out;
}

static bool parse_i64(const char *tok, int64_t *v)
{
    if (!tok || !*tok)
        return false;
    char *end;
    errno = 0;
    long long x = strtoll(tok, &end, 10);
    if (*end || errno)
        return false;
    *v = x;
    return true;
}

/* Parse the text of an AIR file into a graph definition and a name. */
static GraphDef *air_parse(char *text, char **name_out, char *why, size_t whylen)
{
    char *save = NULL, *tok;
    Node *nodes = NULL;
    size_t nn = 0, capn = 0;
    OutEntry *outs = NULL;
    size_t no = 0, capo = 0;
    char *name = NULL;
    GraphDef *d = NULL;
    int64_t v[7];

#define NEXT() (tok = strtok_r(save ? NULL : text, " \t\r\n", &save))
#define BAD(msg) do { snprintf(why, whylen, "%s", msg); goto fail; } while (0)
    if (!NEXT() || strcmp(tok, "GESTUB_AIR") != 0 || !NEXT() || strcmp(tok, "1") != 0)
        BAD("not a stand-in AIR file");
    if (!NEXT() || strcmp(tok, "name") != 0 || !(name = hex_read(NEXT())))
        BAD("bad graph name");
    while (NEXT() && strcmp(tok, "node") == 0) {
        for (int i = 0; i < 7; i++)
            if (!parse_i64(NEXT(), &v[i]))
                BAD("bad node line");
        Node nd;
        memset(&nd, 0, sizeof nd);
        int k = (int)nn;
        if (v[0] < 0 || v[0] >= OP_COUNT || v[6] < 0 || v[6] > MAX_DIMS ||
            v[4] < INT_MIN || v[4] > INT_MAX || nn >= INT_MAX / 2)
            BAD("bad node line");
        nd.op = (int)v[0];
        nd.format = (int)v[4];
        nd.index = v[5];
        nd.shape.n = (int)v[6];
        for (int i = 0; i < nd.shape.n; i++)
            if (!parse_i64(NEXT(), &nd.shape.d[i]) || nd.shape.d[i] < -1)
                BAD("bad node dims");
        if (nd.op == OP_DATA) {
            if (v[1] != -1 || v[2] != -1 || v[3] < 0 || v[3] > INT_MAX)
                BAD("bad Data node");
            nd.a = nd.b = -1;
            nd.dtype = (int)v[3];
        } else {
            Shape shp;
            if (v[1] < 0 || v[1] >= k || v[2] < 0 || v[2] >= k)
                BAD("op node refers to a later node");
            nd.a = (int)v[1];
            nd.b = (int)v[2];
            nd.dtype = nodes[nd.a].dtype;
            if (nodes[nd.b].dtype != nd.dtype || v[3] != nd.dtype ||
                !static_binary_shape(&nodes[nd.a].shape, &nodes[nd.b].shape, &shp))
                BAD("op node operands do not match");
            nd.shape = shp;
            nd.index = -1;
        }
        nd.name = hex_read(NEXT());
        nd.type = hex_read(NEXT());
        Node *nv = grow_array(nodes, &capn, nn + 1, sizeof *nv);
        if (nv)
            nodes = nv;
        if (!nd.name || !nd.type || !nv) {
            free(nd.name);
            free(nd.type);
            BAD("bad node name or type");
        }
        nodes[nn++] = nd;
    }
    while (tok && strcmp(tok, "output") == 0) {
        int64_t k;
        if (!parse_i64(NEXT(), &k) || k < 0 || k >= (int64_t)nn)
            BAD("bad output line");
        OutEntry *nv = grow_array(outs, &capo, no + 1, sizeof *nv);
        if (!nv)
            BAD("out of memory");
        outs = nv;
        outs[no].index = (int64_t)no;
        outs[no].node = (int)k;
        no++;
        NEXT();
    }
    if (!tok || strcmp(tok, "end") != 0 || NEXT())
        BAD("missing end");
    d = def_assemble(nodes, (int)nn, outs, (int)no, why, whylen);
    if (!d)
        goto fail;
    free(outs);
    *name_out = name;
    return d;
#undef NEXT
#undef BAD
fail:
    nodes_free(nodes, (int)nn);
    free(outs);
    free(name);
    return NULL;
}

Status graph_save_air_locked(const char *fn, void *graph, const char *path)
{
    uint32_t st;
    if (fault_fires(fn, &st))
        return st;
    GraphH *g = handle_lookup(fn, graph, H_GRAPH, NULL_CHECKED);
    if (!g || !path) {
        ge_err(fn, "%s", g ? "path is NULL" : "graph is NULL or not a live graph");
        return GE_GRAPH_PARAM_NULLPTR;
    }
    FILE *f = fopen(path, "w");
    if (!f) {
        ge_err(fn, "cannot open \"%s\" for writing", path);
        return GE_FAILED;
    }
    const GraphDef *d = g->def;
    fprintf(f, "GESTUB_AIR 1\nname ");
    hex_write(f, g->name);
    fputc('\n', f);
    for (int k = 0; k < d->nnodes; k++) {
        const Node *nd = &d->nodes[k];
        fprintf(f, "node %d %d %d %d %d %" PRId64 " %d", nd->op, nd->a, nd->b,
                nd->dtype, nd->format, nd->index, nd->shape.n);
        for (int i = 0; i < nd->shape.n; i++)
            fprintf(f, " %" PRId64, nd->shape.d[i]);
        fputc(' ', f);
        hex_write(f, nd->name);
        fputc(' ', f);
        hex_write(f, nd->type);
        fputc('\n', f);
    }
    for (int i = 0; i < d->nout; i++)
        fprintf(f, "output %d\n", d->outputs[i]);
    fprintf(f, "end\n");
    bool bad = ferror(f) != 0;
    bad |= fclose(f) != 0;
    if (bad) {
        ge_err(fn, "error writing \"%s\"", path);
        return GE_FAILED;
    }
    return GE_SUCCESS;
}

/* The whole file as a string, or NULL. */
static char *read_text_file(const char *path, long *len_out)
{
    FILE *f = fopen(path, "rb");
    char *text = NULL;
    long len = -1;
    if (f && fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) >= 0 &&
        len <= AIR_MAX_BYTES && fseek(f, 0, SEEK_SET) == 0 &&
        (text = malloc((size_t)len + 1)) != NULL &&
        fread(text, 1, (size_t)len, f) == (size_t)len) {
        text[len] = '\0';
    } else {
        free(text);
        text = NULL;
    }
    if (f)
        fclose(f);
    *len_out = len;
    return text;
}

/* CHOICE: the file's graph name replaces the graph's name too. */
Status graph_load_air_locked(const char *fn, void *graph, const char *path)
{
    uint32_t st;
    if (fault_fires(fn, &st))
        return st;
    GraphH *g = handle_lookup(fn, graph, H_GRAPH, NULL_CHECKED);
    if (!g || !path) {
        ge_err(fn, "%s", g ? "path is NULL" : "graph is NULL or not a live graph");
        return GE_GRAPH_PARAM_NULLPTR;
    }
    long len;
    char *text = read_text_file(path, &len);
    if (!text) {
        ge_err(fn, "cannot read \"%s\"", path);
        return GE_FAILED;
    }
    char why[256] = "parse error", *name = NULL;
    GraphDef *d = strlen(text) == (size_t)len ? air_parse(text, &name, why, sizeof why)
                                              : NULL;
    free(text);
    if (!d) {
        ge_err(fn, "\"%s\": %s", path, why);
        return GE_FAILED;
    }
    def_unref(g->def);
    g->def = d;
    free(g->name);
    g->name = name;
    return GE_SUCCESS;
}

/* ==========================================================================
 * Eager-style graph builder
 * ========================================================================== */

/* Kill every holder and forget the nodes (unless moved out: nodes NULL). */
static void builder_reset(Builder *b)
{
    for (size_t i = 0; i < b->nholders; i++) {
        obj_unregister(&b->holders[i]->h);
        free(b->holders[i]);
    }
    b->nholders = 0;
    nodes_free(b->nodes, (int)b->nnodes);
    b->nodes = NULL;
    b->nnodes = b->capnodes = 0;
    b->nouts = 0;
}

static void builder_free(Builder *b)
{
    builder_reset(b);
    obj_unregister(&b->h);
    free(b->holders);
    free(b->outs);
    free(b->name);
    free(b);
    g_live[L_BUILDERS]--;
}

void *builder_create_locked(const char *fn, const char *name)
{
    uint32_t st;
    if (fault_fires(fn, &st))
        return NULL;
    Builder *b = name ? calloc(1, sizeof *b) : NULL;
    char *nm = b ? xstrdup(name) : NULL;
    if (!nm) {
        free(b);
        ge_err(fn, name ? "out of memory" : "name is NULL");
        return NULL;
    }
    b->name = nm;
    obj_register(&b->h, H_BUILDER);
    g_live[L_BUILDERS]++;
    return obj_handle(&b->h);
}

void builder_destroy_locked(const char *fn, void *builder)
{
    Builder *b = handle_lookup(fn, builder, H_BUILDER, NULL_ALLOWED);
    if (b)
        builder_free(b);
    else if (builder)
        ge_err(fn, "unknown or destroyed builder %p", builder);
}

/* Append a node (taking its strings) and make a holder for it. */
static void *builder_add(const char *fn, Builder *b, Node *nd)
{
    Node *nv = grow_array(b->nodes, &b->capnodes, b->nnodes + 1, sizeof *nv);
    if (nv)
        b->nodes = nv;
    Holder **hv = grow_array(b->holders, &b->capholders, b->nholders + 1, sizeof *hv);
    if (hv)
        b->holders = hv;
    Holder *h = nv && hv && nd->name && nd->type && b->nnodes < INT_MAX / 2
                ? calloc(1, sizeof *h) : NULL;
    if (!h) {
        free(nd->name);
        free(nd->type);
        ge_err(fn, "out of memory");
        return NULL;
    }
    b->nodes[b->nnodes] = *nd;
    h->b = b;
    h->node = (int)b->nnodes++;
    b->holders[b->nholders++] = h;
    obj_register(&h->h, H_HOLDER);
    return obj_handle(&h->h);
}

/* CHOICE: any data type >= 0 may be declared (such a graph runs only if
 * its inputs can be given, i.e. in the 15 tensor dtypes). */
void *builder_input_locked(const char *fn, void *builder, int64_t index, const char *name,
                           const char *type, int data_type, int format,
                           const int64_t *shape, int64_t dim_num)
{
    Node nd;
    char auto_name[40];
    uint32_t st;
    memset(&nd, 0, sizeof nd);
    if (fault_fires(fn, &st))
        return NULL;
    Builder *b = handle_lookup(fn, builder, H_BUILDER, NULL_CHECKED);
    const char *err = NULL;
    if (!b)
        err = "builder is NULL or not a live builder";
    else if (index < 0)
        err = "negative input index";
    else if (data_type < 0)
        err = "negative data type";
    else if (!shape_from(&nd.shape, shape, dim_num, -1))
        err = "invalid shape (dims must be >= -1)";
    if (err) {
        ge_err(fn, "%s", err);
        return NULL;
    }
    snprintf(auto_name, sizeof auto_name, "input_%" PRId64, index);
    nd.op = OP_DATA;
    nd.a = nd.b = -1;
    nd.dtype = data_type;
    nd.format = format;
    nd.index = index;
    nd.name = xstrdup(name ? name : auto_name);
    nd.type = xstrdup(type ? type : "Data");
    return builder_add(fn, b, &nd);
}

void *builder_binary_op_locked(const char *fn, int op, void *x1, void *x2)
{
    uint32_t st;
    if (fault_fires(fn, &st))
        return NULL;
    Holder *a = handle_lookup(fn, x1, H_HOLDER, NULL_CHECKED);
    Holder *c = handle_lookup(fn, x2, H_HOLDER, NULL_CHECKED);
    if (!a || !c) {
        ge_err(fn, "operand %s is NULL or not a live tensor holder", a ? "x2" : "x1");
        return NULL;
    }
    if (a->b != c->b) {
        ge_err(fn, "operands belong to different builders");
        return NULL;
    }
    Builder *b = a->b;
    const Node *na = &b->nodes[a->node], *nb = &b->nodes[c->node];
    Node nd;
    memset(&nd, 0, sizeof nd);
    if (na->dtype != nb->dtype) {
        ge_err(fn, "operand data types differ (%d and %d)", na->dtype, nb->dtype);
        return NULL;
    }
    if (!static_binary_shape(&na->shape, &nb->shape, &nd.shape)) {
        char s1[128], s2[128];
        shape_text(&na->shape, s1, sizeof s1);
        shape_text(&nb->shape, s2, sizeof s2);
        ge_err(fn, "operand shapes %s and %s are not compatible", s1, s2);
        return NULL;
    }
    char nm[48];
    snprintf(nm, sizeof nm, "%s_%zu", g_op_names[op], b->nnodes);
    nd.op = op;
    nd.a = a->node;
    nd.b = c->node;
    nd.dtype = na->dtype;
    nd.format = na->format;
    nd.index = -1;
    nd.name = xstrdup(nm);
    nd.type = xstrdup(g_op_names[op]);
    return builder_add(fn, b, &nd);
}

/* The weak EsAdd... of the base library: CANN's log an error and return
 * NULL (es_tensor_holder.cc); the caller returns NULL. */
void builder_op_placeholder_locked(const char *fn)
{
    ge_err(fn, "weak placeholder of libeager_style_graph_builder_base.so called: no "
           "generated op library (libes_all.so or libes_math.so) was loaded before it");
}

Status builder_set_output_locked(const char *fn, void *tensor_holder, int64_t output_index)
{
    uint32_t st;
    if (fault_fires(fn, &st))
        return st;
    Holder *h = handle_lookup(fn, tensor_holder, H_HOLDER, NULL_CHECKED);
    if (!h) {
        ge_err(fn, "tensor holder %p is NULL or not live", tensor_holder);
        return GE_GRAPH_PARAM_NULLPTR;
    }
    if (output_index < 0) {
        ge_err(fn, "negative output index %" PRId64, output_index);
        return ACL_ERROR_GE_PARAM_INVALID;
    }
    Builder *b = h->b;
    OutEntry *nv = grow_array(b->outs, &b->capouts, b->nouts + 1, sizeof *nv);
    if (!nv || b->nouts >= INT_MAX / 2) {
        ge_err(fn, "out of memory");
        return ACL_ERROR_GE_MEMORY_ALLOCATION;
    }
    b->outs = nv;
    b->outs[b->nouts].index = output_index;
    b->outs[b->nouts].node = h->node;
    b->nouts++;
    return GE_SUCCESS;
}

/* CHOICE: on failure (NULL) the builder is left unchanged. */
void *builder_build_locked(const char *fn, void *builder)
{
    uint32_t st;
    if (fault_fires(fn, &st))
        return NULL;
    Builder *b = handle_lookup(fn, builder, H_BUILDER, NULL_CHECKED);
    if (!b) {
        ge_err(fn, "builder %p is NULL or not a live builder", builder);
        return NULL;
    }
    char why[256];
    GraphDef *d = def_assemble(b->nodes, (int)b->nnodes, b->outs, (int)b->nouts, why,
                               sizeof why);
    if (!d) {
        ge_err(fn, "%s", why);
        return NULL;
    }
    GraphH *g = graph_new(b->name, d);
    if (!g) {
        d->nodes = NULL;          /* still the builder's */
        d->nnodes = 0;
        def_unref(d);
        ge_err(fn, "out of memory");
        return NULL;
    }
    b->nodes = NULL;              /* moved into the graph */
    b->nnodes = 0;
    builder_reset(b);
    return obj_handle(&g->h);
}
