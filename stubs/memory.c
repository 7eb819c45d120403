/* memory.c -- "device" memory: host memory tracked in a table of regions
 * (blocks of aclrtMalloc, of the built-in default allocator, the data of
 * device-placed tensors), the blocks of aclrtMallocHost, and host buffers
 * for tensor data. */
#include "stub_internal.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

RegionVec g_dev;                         /* every device region */
RegionVec g_hostmem;                     /* blocks of aclrtMallocHost */
uint64_t g_mem_limit = DEFAULT_MEMORY_LIMIT;
uint64_t g_next_id = 1;                  /* internal ids; never reused */
static uint64_t g_dev_used;              /* bytes of g_dev */

/* The index of the first region whose base is above u (rv->n if none). */
static size_t first_above(const RegionVec *rv, uintptr_t u)
{
    size_t lo = 0, hi = rv->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if ((uintptr_t)rv->v[mid].base <= u)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

int region_alloc(RegionVec *rv, size_t size, int kind, Region *out)
{
    if (size == 0)
        size = 1;
    if (rv == &g_dev && (size > g_mem_limit || g_dev_used > g_mem_limit - size))
        return RA_LIMIT;
    Region *nv = grow_array(rv->v, &rv->cap, rv->n + 1, sizeof *nv);
    if (!nv)
        return RA_OOM;
    rv->v = nv;
    uint8_t *p = calloc(1, size);          /* fresh memory reads as zeros */
    if (!p || !idmap_put(&rv->by_id, g_next_id, p)) {
        free(p);
        return RA_OOM;
    }
    Region r = { g_next_id++, p, size, kind };
    size_t i = first_above(rv, (uintptr_t)p);
    memmove(&rv->v[i + 1], &rv->v[i], (rv->n - i) * sizeof *rv->v);
    rv->v[i] = r;
    rv->n++;
    if (rv == &g_dev)
        g_dev_used += size;
    if (kind == R_ACL || kind == R_DEFAULT)
        g_live[L_DEVICE_BLOCKS]++;
    else if (kind == R_HOST)
        g_live[L_HOST_BLOCKS]++;
    *out = r;
    return RA_OK;
}

Region *region_by_id(RegionVec *rv, uint64_t id)
{
    const void *base = id ? idmap_get(&rv->by_id, id) : NULL;
    return base ? region_by_base(rv, base) : NULL;
}

Region *region_by_base(RegionVec *rv, const void *p)
{
    size_t i = first_above(rv, (uintptr_t)p);
    return i && rv->v[i - 1].base == p ? &rv->v[i - 1] : NULL;
}

/* Regions never overlap: only the last one starting at or below p can
 * hold it. */
Region *region_holding(RegionVec *rv, const void *p, size_t len)
{
    uintptr_t u = (uintptr_t)p;
    if (len == 0)
        len = 1;
    if (u > UINTPTR_MAX - len)
        return NULL;
    size_t i = first_above(rv, u);
    if (!i)
        return NULL;
    Region *r = &rv->v[i - 1];
    uintptr_t b = (uintptr_t)r->base;
    return u - b <= r->size && r->size - (u - b) >= len ? r : NULL;
}

/* Only the last region starting at or below p, and the first one above
 * it, can meet [p, p + len). */
bool region_overlaps(RegionVec *rv, const void *p, size_t len)
{
    uintptr_t u = (uintptr_t)p;
    if (len == 0)
        len = 1;
    uintptr_t e = u > UINTPTR_MAX - len ? UINTPTR_MAX : u + len;
    size_t i = first_above(rv, u);
    if (i && u < (uintptr_t)rv->v[i - 1].base + rv->v[i - 1].size)
        return true;
    return i < rv->n && (uintptr_t)rv->v[i].base < e;
}

void region_release(RegionVec *rv, Region *r)
{
    if (r->kind == R_ACL || r->kind == R_DEFAULT)
        g_live[L_DEVICE_BLOCKS]--;
    else if (r->kind == R_HOST)
        g_live[L_HOST_BLOCKS]--;
    if (rv == &g_dev)
        g_dev_used -= r->size;
    idmap_remove(&rv->by_id, r->id);
    free(r->base);
    size_t i = (size_t)(r - rv->v);
    memmove(r, r + 1, (--rv->n - i) * sizeof *r);
}

static void regions_free_all(RegionVec *rv)
{
    for (size_t i = 0; i < rv->n; i++)
        free(rv->v[i].base);
    free(rv->v);
    rv->v = NULL;
    rv->n = rv->cap = 0;
    idmap_clear(&rv->by_id);
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
