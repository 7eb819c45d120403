/* memory.c -- "device" memory: host memory tracked in a set of regions
 * (blocks of aclrtMalloc, of the built-in default allocator, the data of
 * device-placed tensors), the blocks of aclrtMallocHost, and host buffers
 * for tensor data. */
#include "stub_internal.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

RegionSet g_dev;                         /* every device region */
RegionSet g_hostmem;                     /* blocks of aclrtMallocHost */
uint64_t g_mem_limit = DEFAULT_MEMORY_LIMIT;
uint64_t g_next_id = 1;                  /* internal ids; never reused */
static uint64_t g_dev_used;              /* bytes of g_dev */

/* ==========================================================================
 * The regions of a set, by address: a treap (a binary search tree on the
 * base address whose random priorities keep it balanced, expected depth
 * O(log n)), so that finding the region holding an address, adding one and
 * removing one cost O(log n) however many are live.  Regions never overlap
 * (each is its own heap block).  By id and by base address (the commonest
 * question: aclrtFree, a block an allocator handed out): IdMaps.
 * ========================================================================== */

typedef struct RegionNode {
    Region r;                            /* first: a Region * is its node */
    struct RegionNode *child[2];         /* [0] lower bases, [1] higher ones */
    uint32_t prio;
} RegionNode;

static uint32_t next_priority(void)
{
    static uint32_t x = 2463534242u;     /* xorshift32 */
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return x;
}

static uintptr_t base_of(const RegionNode *t) { return (uintptr_t)t->r.base; }

/* Insert x below t; a child with a higher priority is rotated above it. */
static RegionNode *tree_insert(RegionNode *t, RegionNode *x)
{
    if (!t)
        return x;
    int side = base_of(x) > base_of(t);
    RegionNode *c = t->child[side] = tree_insert(t->child[side], x);
    if (c->prio <= t->prio)
        return t;
    t->child[side] = c->child[!side];
    c->child[!side] = t;
    return c;
}

/* Two trees, every base of a below every base of b, as one. */
static RegionNode *tree_merge(RegionNode *a, RegionNode *b)
{
    if (!a || !b)
        return a ? a : b;
    if (a->prio > b->prio) {
        a->child[1] = tree_merge(a->child[1], b);
        return a;
    }
    b->child[0] = tree_merge(a, b->child[0]);
    return b;
}

static RegionNode *tree_remove(RegionNode *t, uintptr_t base)
{
    if (base_of(t) == base)
        return tree_merge(t->child[0], t->child[1]);
    int side = base > base_of(t);
    t->child[side] = tree_remove(t->child[side], base);
    return t;
}

/* The region with the largest base at or below u (`above` false), or with
 * the smallest base above u (`above` true); NULL if there is none. */
static Region *nearest(const RegionSet *rs, uintptr_t u, bool above)
{
    RegionNode *best = NULL;
    for (RegionNode *t = rs->root; t;) {
        bool fits = above ? base_of(t) > u : base_of(t) <= u;
        if (fits)
            best = t;
        t = t->child[fits != above];
    }
    return best ? &best->r : NULL;
}

int region_alloc(RegionSet *rs, size_t size, int kind, Region *out)
{
    if (size == 0)
        size = 1;
    if (rs == &g_dev && (size > g_mem_limit || g_dev_used > g_mem_limit - size))
        return RA_LIMIT;
    RegionNode *node = calloc(1, sizeof *node);
    uint8_t *p = node ? calloc(1, size) : NULL;   /* fresh memory reads as zeros */
    if (!p || !idmap_put(&rs->by_id, g_next_id, node)) {
        free(p);
        free(node);
        return RA_OOM;
    }
    if (!idmap_put(&rs->by_base, (uintptr_t)p, node)) {
        idmap_remove(&rs->by_id, g_next_id);
        free(p);
        free(node);
        return RA_OOM;
    }
    node->r = (Region){ g_next_id++, p, size, kind };
    node->prio = next_priority();
    rs->root = tree_insert(rs->root, node);
    if (rs == &g_dev)
        g_dev_used += size;
    if (kind == R_ACL || kind == R_DEFAULT)
        g_live[L_DEVICE_BLOCKS]++;
    else if (kind == R_HOST)
        g_live[L_HOST_BLOCKS]++;
    *out = node->r;
    return RA_OK;
}

Region *region_by_id(RegionSet *rs, uint64_t id)
{
    RegionNode *node = id ? idmap_get(&rs->by_id, id) : NULL;
    return node ? &node->r : NULL;
}

Region *region_by_base(RegionSet *rs, const void *p)
{
    RegionNode *node = idmap_get(&rs->by_base, (uintptr_t)p);
    return node ? &node->r : NULL;
}

/* Regions never overlap: only the last one starting at or below p can
 * hold it. */
Region *region_holding(RegionSet *rs, const void *p, size_t len)
{
    uintptr_t u = (uintptr_t)p;
    if (len == 0)
        len = 1;
    if (u > UINTPTR_MAX - len)
        return NULL;
    Region *r = region_by_base(rs, p);     /* most often a base */
    if (!r && !(r = nearest(rs, u, false)))
        return NULL;
    uintptr_t b = (uintptr_t)r->base;
    return u - b <= r->size && r->size - (u - b) >= len ? r : NULL;
}

/* Only the last region starting at or below p, and the first one above
 * it, can meet [p, p + len). */
bool region_overlaps(RegionSet *rs, const void *p, size_t len)
{
    uintptr_t u = (uintptr_t)p;
    if (len == 0)
        len = 1;
    uintptr_t e = u > UINTPTR_MAX - len ? UINTPTR_MAX : u + len;
    Region *below = nearest(rs, u, false), *next = nearest(rs, u, true);
    return (below && u < (uintptr_t)below->base + below->size) ||
           (next && (uintptr_t)next->base < e);
}

void region_release(RegionSet *rs, Region *r)
{
    if (r->kind == R_ACL || r->kind == R_DEFAULT)
        g_live[L_DEVICE_BLOCKS]--;
    else if (r->kind == R_HOST)
        g_live[L_HOST_BLOCKS]--;
    if (rs == &g_dev)
        g_dev_used -= r->size;
    idmap_remove(&rs->by_id, r->id);
    idmap_remove(&rs->by_base, (uintptr_t)r->base);
    rs->root = tree_remove(rs->root, (uintptr_t)r->base);
    free(r->base);
    free((RegionNode *)r);
}

static void regions_free_all(RegionSet *rs)
{
    for (size_t i = 0; i < rs->by_id.cap; i++) {
        RegionNode *node = rs->by_id.v[i].val;
        if (node) {
            free(node->r.base);
            free(node);
        }
    }
    idmap_clear(&rs->by_id);
    idmap_clear(&rs->by_base);
    rs->root = NULL;
}

void regions_reset(void)
{
    regions_free_all(&g_dev);
    regions_free_all(&g_hostmem);
    g_dev_used = 0;
    g_mem_limit = DEFAULT_MEMORY_LIMIT;
}

/* Host memory for tensor data. Buffers too large for glibc to ever reuse
 * (past its largest mmap threshold, 32 MiB) are 2 MiB aligned and advised as
 * transparent huge pages, as numpy does for its arrays: a fresh 4 KiB-page
 * mapping of hundreds of MiB costs several times the copy into it. */
#define HUGE_PAGE ((size_t)2 << 20)
#define HUGE_FROM ((size_t)32 << 20)
uint8_t *host_alloc(size_t nbytes)
{
    if (nbytes < HUGE_FROM)
        return malloc(max_sz(nbytes, 1));
    size_t rounded = (nbytes + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
    if (rounded < nbytes)
        return NULL;
    uint8_t *p = aligned_alloc(HUGE_PAGE, rounded);
#ifdef MADV_HUGEPAGE
    if (p)
        (void)madvise(p, rounded, MADV_HUGEPAGE); /* advice only: failure is fine */
#endif
    return p;
}
