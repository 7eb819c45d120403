/* builder.c -- the eager-style graph builder (esb_funcs.h), as CANN's
 * libeager_style_graph_builder_base.so does it (hicann/ge
 * compiler/graph/eager_style_graph_builder/es_base_struct: esb_funcs.cc,
 * es_c_graph_builder.cc, es_c_tensor_holder.cc), the ops of a generated op
 * library (EsAdd... of libes_math.so) and the GNode name/type of
 * libgraph_wrapper.so (api/python/ge/ge_api_c_wrapper/c_gnode.cc).
 *
 * A builder owns its holders until it is destroyed (its resource list),
 * also after EsBuildGraphAndReset, which hands its graph to the caller; a
 * holder then reaches its node in that graph while the graph lives (a
 * GNode holds a weak reference to its node). */
#include "stub_internal.h"

#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const g_input_types[] = { "Data", "RefData", "AippData", "AnyData" };

/* ==========================================================================
 * Builders, holders and the nodes they stand for
 * ========================================================================== */

static void holder_free(Holder *h)
{
    if (h->gnode) {
        obj_unregister(&h->gnode->h);
        free(h->gnode);
    }
    obj_unregister(&h->h);
    free(h);
}

void builder_forget(Builder *b)
{
    nodes_free(b->nodes, (int)b->nnodes);
    attrs_free(&b->attrs);
    free(b->holders);
    free(b->outs);
    free(b->name);
}

static void builder_free(Builder *b)
{
    for (size_t i = 0; i < b->nholders; i++)
        holder_free(b->holders[i]);
    obj_unregister(&b->h);
    builder_forget(b);
    free(b);
    g_live[L_BUILDERS]--;
}

/* The node `h` stands for: in its builder's graph until the build, then in
 * the built graph while it lives, else NULL (the node is gone).  With
 * `mutate`, a shared built graph is copied first and *def is set to the
 * definition to re-infer after the change. */
static Node *holder_node(Holder *h, bool mutate, GraphDef **def)
{
    if (def)
        *def = NULL;
    if (!h->b->built)
        return &h->b->nodes[h->node];
    GraphH *g = graph_by_body(h->b->body);
    GraphDef *d = g ? (mutate ? def_unshare(g) : g->def) : NULL;
    if (!d || h->node >= d->nnodes)
        return NULL;
    if (def)
        *def = d;
    return &d->nodes[h->node];
}

/* Append a node (taking its fields) and make a holder for it. */
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
        node_free_fields(nd);
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

/* A node of `op` with GE's default output description (DT_FLOAT, ND, a
 * scalar); name and type are copies. */
static void node_init(Node *nd, int op, const char *name, const char *type)
{
    memset(nd, 0, sizeof *nd);
    nd->op = op;
    nd->a = nd->b = -1;
    nd->dtype = DT_FLOAT;
    nd->format = FORMAT_ND;
    nd->index = -1;
    nd->name = xstrdup(name);
    nd->type = xstrdup(type);
}

/* EsCGraphBuilder::GenerateNodeName: "<type>_<n>", n counting per builder. */
static void generated_name(Builder *b, const char *type, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s_%" PRId64, type, b->names++);
}

/* The holder argument `handle` (GE_ASSERT_NOTNULL: NULL is checked). */
static Holder *holder_arg(const char *fn, void *handle)
{
    Holder *h = handle_lookup(fn, handle, H_HOLDER, NULL_CHECKED);
    if (!h)
        ge_err(fn, "tensor holder is NULL");
    return h;
}

/* How a call on a tensor holder starts: an injected fault (its status), then
 * the holder argument, in *h (NULL: PARAM_INVALID, after a report). */
static Status holder_begin(const char *fn, void *tensor_holder, Holder **h)
{
    uint32_t st;
    if (fault_fires(fn, &st))
        return st;
    *h = holder_arg(fn, tensor_holder);
    return *h ? GE_SUCCESS : GE_PARAM_INVALID;
}

/* How a call that needs the graph still being built starts: an injected
 * fault (its status), then the builder argument, in *b: PARAM_INVALID, after
 * a report, when there is no live builder (`missing`) or EsBuildGraphAndReset
 * handed its graph away (`built`, CANN's text). */
static Status unbuilt_builder_begin(const char *fn, void *builder, NullPolicy nulls,
                                    const char *missing, const char *built, Builder **b)
{
    uint32_t st;
    if (fault_fires(fn, &st))
        return st;
    *b = handle_lookup(fn, builder, H_BUILDER, nulls);
    if (!*b || (*b)->built) {
        ge_err(fn, "%s", *b ? built : missing);
        return GE_PARAM_INVALID;
    }
    return GE_SUCCESS;
}

/* ==========================================================================
 * Builders and graph inputs
 * ========================================================================== */

void *builder_create_locked(const char *fn, const char *name)
{
    uint32_t st;
    if (fault_fires(fn, &st))
        return NULL;
    Builder *b = calloc(1, sizeof *b);
    char *nm = b ? xstrdup(name ? name : "graph") : NULL;
    if (!nm) {
        free(b);
        ge_err(fn, "out of memory");
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

static bool input_type_known(const char *type)
{
    for (size_t i = 0; i < sizeof g_input_types / sizeof g_input_types[0]; i++)
        if (strcmp(type, g_input_types[i]) == 0)
            return true;
    return false;
}

/* EsCreateGraphInput and EsCreateGraphInputWithDetails: no NULL check on
 * the builder in CANN (a NULL or dead one crashes). */
void *builder_input_locked(const char *fn, void *builder, int64_t index, const char *name,
                           const char *type, int data_type, int format,
                           const int64_t *shape, int64_t dim_num)
{
    uint32_t st;
    if (fault_fires(fn, &st))
        return NULL;
    Builder *b = handle_lookup(fn, builder, H_BUILDER, NULL_CRASHES);
    if (!b) {
        ge_err(fn, "builder is NULL or not a live builder");
        return NULL;
    }
    int32_t idx = (int32_t)index;      /* AddGraphInput takes an int32_t */
    const char *err = NULL;
    Node nd;
    if (b->built)
        err = "Graph has been build and reset, cannot add graph input";
    else if (idx < 0)
        err = "invalid input index: must be non-negative";
    for (size_t k = 0; !err && k < b->nnodes; k++)
        if (b->nodes[k].op == OP_DATA && b->nodes[k].index == idx)
            err = "duplicated graph input index";
    if (!err && type && !input_type_known(type))
        err = "input type must be one of {Data, RefData, AippData, AnyData}";
    if (!err && shape && dim_num < 0) {
        crashes_in_cann(fn, "negative dim_num %" PRId64 " with a shape", dim_num);
        return NULL;
    }
    Shape s;
    if (!err && !shape_from(&s, shape ? shape : NULL, shape ? dim_num : 0, INT64_MIN))
        err = "too many dims (the stand-in's limit is 64)";
    if (err) {
        ge_err(fn, "%s (index %" PRId32 ")", err, idx);
        return NULL;
    }
    char auto_name[32];
    snprintf(auto_name, sizeof auto_name, "input_%" PRId32, idx);
    node_init(&nd, OP_DATA, name ? name : auto_name, type ? type : "Data");
    nd.dtype = data_type;
    nd.format = format;
    nd.index = idx;
    nd.shape = s;
    return builder_add(fn, b, &nd);
}

/* ==========================================================================
 * Consts, vectors, scalars, variables
 * ========================================================================== */

void *builder_const_locked(const char *fn, void *builder, int data_type, const void *value,
                           const int64_t *dims, int64_t dim_num)
{
    uint32_t st;
    if (fault_fires(fn, &st))
        return NULL;
    Builder *b = handle_lookup(fn, builder, H_BUILDER, NULL_CHECKED);
    if (!b || !value) {
        ge_err(fn, "%s is NULL", b ? "value" : "builder");
        return NULL;
    }
    Shape s = { 0 };
    if (dims && dim_num > 0 && !shape_from(&s, dims, dim_num, INT64_MIN)) {
        ge_err(fn, "too many dims (the stand-in's limit is 64)");
        return NULL;
    }
    for (int i = 0; i < s.n; i++) {
        if (s.d[i] < 0) {
            crashes_in_cann(fn, "dim %" PRId64 ": CANN copies sizeof(T) * (a negative shape "
                            "size) bytes of value", s.d[i]);
            return NULL;
        }
    }
    size_t nbytes = 0;
    (void)shape_nbytes(&s, data_type, &nbytes);   /* an overflow makes it 0, as in CANN */
    if (b->built) {
        ge_err(fn, "Graph has been build and reset, cannot create a Const");
        return NULL;
    }
    char name[48];
    Node nd;
    generated_name(b, "Const", name, sizeof name);
    node_init(&nd, OP_CONST, name, "Const");
    nd.dtype = data_type;
    nd.shape = s;
    nd.nbytes = nbytes;
    nd.value = malloc(max_sz(nbytes, 1));
    if (!nd.value) {
        node_free_fields(&nd);
        ge_err(fn, "out of memory");
        return NULL;
    }
    if (nbytes)
        memcpy(nd.value, value, nbytes);
    return builder_add(fn, b, &nd);
}

void *builder_variable_locked(const char *fn, void *builder, int32_t index, const char *name)
{
    Builder *b = NULL;
    if (unbuilt_builder_begin(fn, builder, NULL_CHECKED, "builder is NULL",
                              "Graph has been build and reset, cannot create variable", &b))
        return NULL;
    if (!name) {
        crashes_in_cann(fn, "the variable's name is NULL");
        return NULL;
    }
    Node nd;
    node_init(&nd, OP_VARIABLE, name, "Variable");
    nd.index = index;
    return builder_add(fn, b, &nd);
}

/* ==========================================================================
 * A holder's output description
 * ========================================================================== */

/* Change the description of the node behind `tensor_holder` (`what`: 0 data
 * type, 1 format, 2 shape).  CANN ignores a failed GetOutputDesc /
 * UpdateOutputDesc: SUCCESS also when the node is gone.  CHOICE: a Const
 * keeps its value's description (GE infers a Const's output from its
 * value when it compiles the graph). */
static Status holder_set(const char *fn, void *tensor_holder, int what, int v,
                         const Shape *s)
{
    Holder *h = NULL;
    Status st = holder_begin(fn, tensor_holder, &h);
    if (st)
        return st;
    GraphDef *d;
    Node *nd = holder_node(h, true, &d);
    if (!nd || nd->op == OP_CONST)
        return GE_SUCCESS;
    if (what == 0)
        nd->dtype = v;
    else if (what == 1)
        nd->format = v;
    else
        nd->shape = *s;
    if (d)
        def_infer(d);
    return GE_SUCCESS;
}

Status holder_set_dtype_locked(const char *fn, void *tensor_holder, int data_type)
{
    return holder_set(fn, tensor_holder, 0, data_type, NULL);
}

Status holder_set_format_locked(const char *fn, void *tensor_holder, int format)
{
    return holder_set(fn, tensor_holder, 1, format, NULL);
}

Status holder_set_shape_locked(const char *fn, void *tensor_holder, const int64_t *shape,
                               int64_t dim_num)
{
    Shape s;
    if (!shape && dim_num != 0) {
        ge_err(fn, "When shape is nullptr, dim_num should be 0 (means a scalar)");
        return GE_PARAM_INVALID;
    }
    if (shape && dim_num < 0) {
        crashes_in_cann(fn, "negative dim_num %" PRId64 " with a shape", dim_num);
        return GE_PARAM_INVALID;
    }
    if (!shape_from(&s, shape, dim_num, INT64_MIN)) {
        ge_err(fn, "too many dims (the stand-in's limit is 64)");
        return GE_PARAM_INVALID;
    }
    return holder_set(fn, tensor_holder, 2, 0, &s);
}

/* ==========================================================================
 * Outputs, owner, producer, the build
 * ========================================================================== */

Status builder_set_output_locked(const char *fn, void *tensor_holder, int64_t output_index)
{
    Holder *h = NULL;
    Status st = holder_begin(fn, tensor_holder, &h);
    if (st)
        return st;
    Builder *b = h->b;
    if (output_index < 0) {
        ge_err(fn, "Invalid output index %" PRId64 ", must be non-negative", output_index);
        return GE_PARAM_INVALID;
    }
    int32_t key = (int32_t)output_index;      /* CANN's map is keyed by int32_t */
    for (size_t i = 0; i < b->nouts; i++) {
        if (b->outs[i].index == key) {
            ge_err(fn, "Duplicated output index %" PRId32, key);
            return GE_PARAM_INVALID;
        }
    }
    OutEntry *nv = grow_array(b->outs, &b->capouts, b->nouts + 1, sizeof *nv);
    if (!nv || b->nouts >= INT_MAX / 2) {
        ge_err(fn, "out of memory");
        return GE_PARAM_INVALID;
    }
    b->outs = nv;
    b->outs[b->nouts].index = key;
    b->outs[b->nouts].node = h->node;
    b->nouts++;
    return GE_SUCCESS;
}

void *holder_owner_locked(const char *fn, void *tensor_holder)
{
    Holder *h = NULL;
    return holder_begin(fn, tensor_holder, &h) ? NULL : obj_handle(&h->b->h);
}

void *holder_producer_locked(const char *fn, void *tensor_holder)
{
    Holder *h = NULL;
    if (holder_begin(fn, tensor_holder, &h))
        return NULL;
    if (!h->gnode) {
        h->gnode = calloc(1, sizeof *h->gnode);
        if (!h->gnode) {
            ge_err(fn, "out of memory");
            return NULL;
        }
        h->gnode->holder = h;
        obj_register(&h->gnode->h, H_NODE);
    }
    return obj_handle(&h->gnode->h);
}

/* A caller-owned copy of the name (type: the type) of the node behind a
 * GNode, or NULL when the node is gone ("the node shared ptr is not valid"). */
char *gnode_name_locked(const char *fn, void *node, bool type)
{
    GNodeH *g = handle_lookup(fn, node, H_NODE, NULL_CHECKED);
    if (!g) {
        ge_err(fn, "node is NULL");
        return NULL;
    }
    const Node *nd = holder_node(g->holder, false, NULL);
    if (!nd) {
        ge_err(fn, "the node shared ptr is not valid (its graph was destroyed)");
        return NULL;
    }
    return string_give(fn, type ? nd->type : nd->name);
}

/* No NULL check in CANN.  CHOICE: on failure (NULL) the builder is left
 * unchanged, as CANN's IsGraphValid fails before anything moves. */
void *builder_build_locked(const char *fn, void *builder)
{
    Builder *b = NULL;
    if (unbuilt_builder_begin(fn, builder, NULL_CRASHES, "builder is NULL or not live",
                              "Cannot build graph again", &b))
        return NULL;
    char why[256];
    GraphDef *d = def_assemble(b->nodes, (int)b->nnodes, b->outs, (int)b->nouts, why,
                               sizeof why);
    if (!d) {
        ge_err(fn, "Invalid graph: %s", why);
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
    d->attrs = b->attrs;          /* moved into the graph, as the nodes */
    memset(&b->attrs, 0, sizeof b->attrs);
    b->nodes = NULL;
    b->nnodes = b->capnodes = 0;
    b->built = true;
    b->body = g->body;
    return obj_handle(&g->h);
}

/* ==========================================================================
 * Control edges and attributes
 * ========================================================================== */

Status holder_control_edges_locked(const char *fn, void *dest, void **srcs, int64_t count)
{
    uint32_t st;
    if (fault_fires(fn, &st))
        return st;
    Holder *d = holder_arg(fn, dest);
    if (!d || !srcs) {
        if (d)
            ge_err(fn, "src_ctrl_tensors is NULL");
        return GE_PARAM_INVALID;
    }
    for (int64_t i = 0; i < count; i++) {     /* edges before a failure stay, as in CANN */
        Holder *s = handle_lookup(fn, srcs[i], H_HOLDER, NULL_CRASHES);
        if (!s) {
            ge_err(fn, "src_ctrl_tensors[%" PRId64 "] is NULL", i);
            return GE_PARAM_INVALID;
        }
        if (d->b->built) {
            crashes_in_cann(fn, "the builder's graph was handed away by EsBuildGraphAndReset");
            return GE_PARAM_INVALID;
        }
        if (s->b != d->b) {   /* CHOICE: CANN links nodes of two graphs; refused here */
            ge_err(fn, "src_ctrl_tensors[%" PRId64 "] belongs to another builder", i);
            return GE_PARAM_INVALID;
        }
        Node *nd = &d->b->nodes[d->node];
        bool known = false;
        for (int c = 0; c < nd->nctrl && !known; c++)
            known = nd->ctrl[c] == s->node;
        if (known)
            continue;
        int *nv = realloc(nd->ctrl, sizeof(int) * (size_t)(nd->nctrl + 1));
        if (!nv) {
            ge_err(fn, "out of memory");
            return GE_PARAM_INVALID;
        }
        nd->ctrl = nv;
        nd->ctrl[nd->nctrl++] = s->node;
    }
    return GE_SUCCESS;
}

Status builder_graph_attr_locked(const char *fn, void *builder, const char *name, int type,
                                 int64_t i, const char *s)
{
    Builder *b = NULL;
    Status st = unbuilt_builder_begin(fn, builder, NULL_CHECKED, "builder is NULL",
                                      "Graph has been build and reset, cannot set attr for graph",
                                      &b);
    if (st)
        return st;
    if (!attrs_set(&b->attrs, name ? name : "", type, i, s ? s : "")) {
        ge_err(fn, "out of memory");
        return GE_PARAM_INVALID;
    }
    return GE_SUCCESS;
}

/* Node attributes (GNode::SetAttr: GRAPH_PARAM_INVALID for an empty name,
 * GRAPH_FAILED when the node is gone) and output-tensor attributes
 * (GNode::SetOutputAttr: PARAM_INVALID when the node is gone). */
Status holder_attr_locked(const char *fn, void *tensor_holder, bool of_tensor,
                          const char *name, int type, int64_t i, const char *s)
{
    Holder *h = NULL;
    Status st = holder_begin(fn, tensor_holder, &h);
    if (st)
        return st;
    name = name ? name : "";
    if (!of_tensor && !*name) {
        ge_err(fn, "attribute name is empty");
        return GRAPH_PARAM_INVALID;
    }
    GraphDef *d;
    Node *nd = holder_node(h, true, &d);
    if (!nd) {
        ge_err(fn, "the node is gone (its graph was destroyed)");
        return of_tensor ? GE_PARAM_INVALID : GE_FAILED;
    }
    if (!attrs_set(of_tensor ? &nd->out_attrs : &nd->attrs, name, type, i, s ? s : "")) {
        ge_err(fn, "out of memory");
        return GE_FAILED;
    }
    return GE_SUCCESS;
}

/* ==========================================================================
 * Ops (a generated op library) and the base library's placeholders
 * ========================================================================== */

/* The generated EsAdd... (es_generator/c_generator.h): both inputs non-NULL,
 * the node made in x1's builder; no check of shapes or data types (GE
 * checks them when it compiles the graph). */
void *builder_binary_op_locked(const char *fn, int op, void *x1, void *x2)
{
    uint32_t st;
    if (fault_fires(fn, &st))
        return NULL;
    Holder *a = holder_arg(fn, x1);
    Holder *c = a ? holder_arg(fn, x2) : NULL;
    if (!a || !c)
        return NULL;
    Builder *b = a->b;
    if (b->built) {
        crashes_in_cann(fn, "the builder's graph was handed away by EsBuildGraphAndReset");
        return NULL;
    }
    if (c->b != b) {   /* CHOICE: CANN links nodes of two graphs; refused here */
        ge_err(fn, "operands belong to different builders");
        return NULL;
    }
    char name[48];
    Node nd;
    generated_name(b, g_op_names[op], name, sizeof name);
    node_init(&nd, op, name, g_op_names[op]);
    nd.a = a->node;
    nd.b = c->node;
    return builder_add(fn, b, &nd);
}

/* The weak EsAdd... of the base library: CANN's log an error and return
 * NULL (es_tensor_holder.cc); the caller returns NULL. */
void builder_op_placeholder_locked(const char *fn)
{
    ge_err(fn, "weak placeholder of libeager_style_graph_builder_base.so called: no "
           "generated op library (libes_all.so or libes_math.so) was loaded before it");
}
