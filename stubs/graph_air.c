/* graph_air.c -- GeApiWrapper_Graph_SaveToAir / LoadFromAir (c_graph.cc:
 * Graph::SaveToFile / LoadFromFile) in the stand-in's own text format,
 * which keeps everything a graph holds: nodes (Const values, control
 * edges, node and output-tensor attributes), graph attributes, outputs.
 *
 * Whitespace-separated tokens; strings and bytes hex-encoded, "-" for
 * empty:
 *   GESTUB_AIR 2
 *   name <hex>
 *   gattr <name> <type> <int> <string>
 *   node <op> <a> <b> <dtype> <format> <index> <ndims> <dims...> <name> <type>
 *   value <bytes>                          (the node before: a Const)
 *   ctrl <n> <node...>                     (its control-edge sources)
 *   attr|oattr <name> <type> <int> <string>
 *   output <node>
 *   end
 */
#include "stub_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void hex_write(FILE *f, const uint8_t *p, size_t n)
{
    if (!n)
        fputc('-', f);
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%02x", (unsigned)p[i]);
}

static void str_write(FILE *f, const char *s)
{
    hex_write(f, (const uint8_t *)s, strlen(s));
}

/* The bytes of a hex token (NUL-terminated, *len without it), or NULL. */
static uint8_t *hex_read(const char *tok, size_t *len)
{
    if (!tok)
        return NULL;
    size_t n = strcmp(tok, "-") == 0 ? 0 : strlen(tok);
    if (n % 2)
        return NULL;
    uint8_t *out = malloc(n / 2 + 1);
    for (size_t i = 0; out && i < n / 2; i++) {
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
        out[i] = (uint8_t)v;
    }
    if (out)
        out[n / 2] = 0;
    *len = n / 2;
    return out;
}

/* A string token: hex without embedded NULs. */
static char *str_read(const char *tok)
{
    size_t n;
    uint8_t *s = hex_read(tok, &n);
    if (s && strlen((char *)s) != n) {
        free(s);
        return NULL;
    }
    return (char *)s;
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

static void attrs_write(FILE *f, const char *kw, const AttrList *l)
{
    for (int i = 0; i < l->n; i++) {
        const Attr *a = &l->v[i];
        fprintf(f, "%s ", kw);
        str_write(f, a->name);
        fprintf(f, " %d %" PRId64 " ", a->type, a->i);
        str_write(f, a->s ? a->s : "");
        fputc('\n', f);
    }
}

/* How SaveToAir and LoadFromAir start: an injected fault, then the graph
 * and path arguments (both checked: PARAM_INVALID); the graph in *g. */
static Status air_begin(const char *fn, void *graph, const char *path, GraphH **g)
{
    uint32_t st;
    if (fault_fires(fn, &st))
        return st;
    *g = handle_lookup(fn, graph, H_GRAPH, NULL_CHECKED);
    if (!*g || !path) {
        ge_err(fn, "%s", *g ? "path is NULL" : "graph is NULL or not a live graph");
        return GE_PARAM_INVALID;
    }
    return GE_SUCCESS;
}

Status graph_save_air_locked(const char *fn, void *graph, const char *path)
{
    GraphH *g = NULL;
    Status st = air_begin(fn, graph, path, &g);
    if (st)
        return st;
    FILE *f = fopen(path, "w");
    if (!f) {
        ge_err(fn, "cannot open \"%s\" for writing", path);
        return GE_FAILED;
    }
    const GraphDef *d = g->def;
    fprintf(f, "GESTUB_AIR 2\nname ");
    str_write(f, g->name);
    fputc('\n', f);
    attrs_write(f, "gattr", &d->attrs);
    for (int k = 0; k < d->nnodes; k++) {
        const Node *nd = &d->nodes[k];
        fprintf(f, "node %d %d %d %d %d %" PRId64 " %d", nd->op, nd->a, nd->b,
                nd->dtype, nd->format, nd->index, nd->shape.n);
        for (int i = 0; i < nd->shape.n; i++)
            fprintf(f, " %" PRId64, nd->shape.d[i]);
        fputc(' ', f);
        str_write(f, nd->name);
        fputc(' ', f);
        str_write(f, nd->type);
        fputc('\n', f);
        if (nd->op == OP_CONST) {
            fprintf(f, "value ");
            hex_write(f, nd->value, nd->nbytes);
            fputc('\n', f);
        }
        if (nd->nctrl) {
            fprintf(f, "ctrl %d", nd->nctrl);
            for (int c = 0; c < nd->nctrl; c++)
                fprintf(f, " %d", nd->ctrl[c]);
            fputc('\n', f);
        }
        attrs_write(f, "attr", &nd->attrs);
        attrs_write(f, "oattr", &nd->out_attrs);
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

/* ==========================================================================
 * Parsing
 * ========================================================================== */

typedef struct Parse {
    char *save;
    char *tok;
    Node *nodes; size_t nn, capn;
    OutEntry *outs; size_t no, capo;
    AttrList gattrs;
} Parse;

static char *next(Parse *p, char *text)
{
    p->tok = strtok_r(p->save ? NULL : text, " \t\r\n", &p->save);
    return p->tok;
}

static bool parse_attr(Parse *p, AttrList *l)
{
    int64_t type, i;
    char *name = str_read(next(p, NULL));
    bool ok = name && parse_i64(next(p, NULL), &type) && type >= ATTR_INT &&
              type <= ATTR_BOOL && parse_i64(next(p, NULL), &i);
    char *s = ok ? str_read(next(p, NULL)) : NULL;
    ok = ok && s && attrs_set(l, name, (int)type, i, s);
    free(name);
    free(s);
    return ok;
}

/* One "node" line (after the keyword). */
static const char *parse_node(Parse *p)
{
    int64_t v[7];
    for (int i = 0; i < 7; i++)
        if (!parse_i64(next(p, NULL), &v[i]))
            return "bad node line";
    int64_t k = (int64_t)p->nn;
    bool binary = OP_IS_BINARY(v[0]);
    if (v[0] < 0 || v[0] >= OP_COUNT || v[6] < 0 || v[6] > MAX_DIMS ||
        v[3] < INT_MIN || v[3] > INT_MAX || v[4] < INT_MIN || v[4] > INT_MAX ||
        p->nn >= INT_MAX / 2)
        return "bad node line";
    if (binary ? (v[1] < 0 || v[1] >= k || v[2] < 0 || v[2] >= k) : (v[1] != -1 || v[2] != -1))
        return "bad operands";
    Node nd;
    memset(&nd, 0, sizeof nd);
    nd.op = (int)v[0];
    nd.a = (int)v[1];
    nd.b = (int)v[2];
    nd.dtype = (int)v[3];
    nd.format = (int)v[4];
    nd.index = v[5];
    nd.shape.n = (int)v[6];
    for (int i = 0; i < nd.shape.n; i++)
        if (!parse_i64(next(p, NULL), &nd.shape.d[i]))
            return "bad node dims";
    nd.name = str_read(next(p, NULL));
    nd.type = str_read(next(p, NULL));
    Node *nv = grow_array(p->nodes, &p->capn, p->nn + 1, sizeof *nv);
    if (nv)
        p->nodes = nv;
    if (!nd.name || !nd.type || !nv) {
        node_free_fields(&nd);
        return "bad node name or type";
    }
    p->nodes[p->nn++] = nd;
    return NULL;
}

/* A line that belongs to the last node ("value", "ctrl", "attr", "oattr"). */
static const char *parse_node_part(Parse *p)
{
    if (!p->nn)
        return "a node part before any node";
    Node *nd = &p->nodes[p->nn - 1];
    if (strcmp(p->tok, "value") == 0) {
        size_t n;
        if (nd->op != OP_CONST || nd->value || !(nd->value = hex_read(next(p, NULL), &n)))
            return "bad value line";
        nd->nbytes = n;
    } else if (strcmp(p->tok, "ctrl") == 0) {
        int64_t n, c;
        if (nd->ctrl || !parse_i64(next(p, NULL), &n) || n < 1 || n > INT_MAX / 2 ||
            !(nd->ctrl = malloc(sizeof(int) * (size_t)n)))
            return "bad ctrl line";
        for (int64_t i = 0; i < n; i++) {
            if (!parse_i64(next(p, NULL), &c) || c < 0 || c > INT_MAX / 2)
                return "bad ctrl line";
            nd->ctrl[nd->nctrl++] = (int)c;
        }
    } else if (!parse_attr(p, strcmp(p->tok, "attr") == 0 ? &nd->attrs : &nd->out_attrs)) {
        return "bad attr line";
    }
    return NULL;
}

static bool is_node_part(const char *tok)
{
    return strcmp(tok, "value") == 0 || strcmp(tok, "ctrl") == 0 ||
           strcmp(tok, "attr") == 0 || strcmp(tok, "oattr") == 0;
}

/* The text of an AIR file as a graph definition and a name. */
static GraphDef *air_parse(char *text, char **name_out, char *why, size_t whylen)
{
    Parse p;
    memset(&p, 0, sizeof p);
    const char *err = NULL;
    char *name = NULL;
    GraphDef *d = NULL;
    if (!next(&p, text) || strcmp(p.tok, "GESTUB_AIR") != 0 || !next(&p, NULL) ||
        strcmp(p.tok, "2") != 0)
        err = "not a stand-in AIR file";
    else if (!next(&p, NULL) || strcmp(p.tok, "name") != 0 || !(name = str_read(next(&p, NULL))))
        err = "bad graph name";
    while (!err && next(&p, NULL) && strcmp(p.tok, "output") != 0 && strcmp(p.tok, "end") != 0) {
        if (strcmp(p.tok, "gattr") == 0)
            err = parse_attr(&p, &p.gattrs) ? NULL : "bad gattr line";
        else if (strcmp(p.tok, "node") == 0)
            err = parse_node(&p);
        else if (is_node_part(p.tok))
            err = parse_node_part(&p);
        else
            err = "unknown line";
    }
    while (!err && p.tok && strcmp(p.tok, "output") == 0) {
        int64_t k;
        OutEntry *nv = NULL;
        if (!parse_i64(next(&p, NULL), &k) || k < 0 || k >= (int64_t)p.nn ||
            !(nv = grow_array(p.outs, &p.capo, p.no + 1, sizeof *nv))) {
            err = "bad output line";
            break;
        }
        p.outs = nv;
        p.outs[p.no].index = (int64_t)p.no;
        p.outs[p.no].node = (int)k;
        p.no++;
        next(&p, NULL);
    }
    if (!err && (!p.tok || strcmp(p.tok, "end") != 0 || next(&p, NULL)))
        err = "missing end";
    for (size_t k = 0; !err && k < p.nn; k++)
        for (int c = 0; c < p.nodes[k].nctrl; c++)
            if (p.nodes[k].ctrl[c] >= (int)p.nn)
                err = "control edge to no node";
    for (size_t k = 0; !err && k < p.nn; k++)
        if (p.nodes[k].op == OP_CONST && !p.nodes[k].value)
            err = "Const without a value";
    if (!err) {
        d = def_assemble(p.nodes, (int)p.nn, p.outs, (int)p.no, why, whylen);
        if (d) {
            d->attrs = p.gattrs;
            memset(&p.gattrs, 0, sizeof p.gattrs);
            p.nodes = NULL;
            p.nn = 0;
        }
    } else {
        snprintf(why, whylen, "%s", err);
    }
    nodes_free(p.nodes, (int)p.nn);
    free(p.outs);
    attrs_free(&p.gattrs);
    if (d)
        *name_out = name;
    else
        free(name);
    return d;
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

/* CHOICE: the file's graph name replaces the graph's name too.  The graph
 * gets a new body: holders of the builder that made the old content no
 * longer reach it. */
Status graph_load_air_locked(const char *fn, void *graph, const char *path)
{
    GraphH *g = NULL;
    Status st = air_begin(fn, graph, path, &g);
    if (st)
        return st;
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
    if (!graph_new_body(g)) {
        def_unref(d);
        free(name);
        ge_err(fn, "out of memory");
        return GE_FAILED;
    }
    def_unref(g->def);
    g->def = d;
    free(g->name);
    g->name = name;
    return GE_SUCCESS;
}
