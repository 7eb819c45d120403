/* id_map.c -- a map from 64-bit keys (ids, stream values) to non-NULL
 * pointers: open addressing with linear probing and backward-shift
 * deletion, so that a lookup costs the same however many entries it holds.
 *
 * CANN keeps these tables in std::map (the session manager's sessions, a
 * graph manager's graphs, the stream -> allocator map): a lookup is
 * O(log n), and no call walks everything alive.  A stand-in walking lists
 * there would make its own cost grow with the live sessions, graphs or
 * allocators, which would hide (or fake) a growth of the binding's cost.
 * A map has no order: where an order is observable (which session
 * GEFinalize drops first, which graph's memory a session frees first) its
 * owner sorts or keeps its own array. */
#include "stub_internal.h"

#include <stdlib.h>

/* splitmix64's finaliser: sequential keys (ids, tokens 16 apart) spread over
 * every slot. */
static size_t slot_of(uint64_t key, size_t mask)
{
    key ^= key >> 30;
    key *= 0xbf58476d1ce4e5b9ull;
    key ^= key >> 27;
    key *= 0x94d049bb133111ebull;
    key ^= key >> 31;
    return (size_t)key & mask;
}

/* The slot holding `key`, or the empty slot where it would go. */
static size_t probe(const IdMap *m, uint64_t key)
{
    size_t mask = m->cap - 1;
    size_t i = slot_of(key, mask);
    while (m->v[i].val && m->v[i].key != key)
        i = (i + 1) & mask;
    return i;
}

void *idmap_get(const IdMap *m, uint64_t key)
{
    return m->n ? m->v[probe(m, key)].val : NULL;
}

/* Double the table (at least 16 slots): at most half full after. */
static bool idmap_grow(IdMap *m)
{
    size_t cap = m->cap ? m->cap * 2 : 16;
    IdEntry *v = calloc(cap, sizeof *v);
    if (!v)
        return false;
    IdMap bigger = { v, 0, cap };
    for (size_t i = 0; i < m->cap; i++)
        if (m->v[i].val)
            bigger.v[probe(&bigger, m->v[i].key)] = m->v[i];
    bigger.n = m->n;
    free(m->v);
    *m = bigger;
    return true;
}

/* Replacing the value of a key never allocates (so never fails). */
bool idmap_put(IdMap *m, uint64_t key, void *val)
{
    if (m->n) {
        size_t i = probe(m, key);
        if (m->v[i].val) {
            m->v[i].val = val;
            return true;
        }
    }
    if ((m->n + 1) * 2 > m->cap && !idmap_grow(m))
        return false;
    m->v[probe(m, key)] = (IdEntry){ key, val };
    m->n++;
    return true;
}

void *idmap_remove(IdMap *m, uint64_t key)
{
    if (!m->n)
        return NULL;
    size_t mask = m->cap - 1;
    size_t i = probe(m, key);
    void *val = m->v[i].val;
    if (!val)
        return NULL;
    /* backward shift: move up every later entry of the run whose home slot
     * is not between the hole and itself, so no probe meets a false end */
    for (size_t j = (i + 1) & mask; m->v[j].val; j = (j + 1) & mask) {
        size_t home = slot_of(m->v[j].key, mask);
        if (((j - home) & mask) >= ((j - i) & mask)) {
            m->v[i] = m->v[j];
            i = j;
        }
    }
    m->v[i].val = NULL;
    m->n--;
    return val;
}

void idmap_clear(IdMap *m)
{
    free(m->v);
    *m = (IdMap){ 0 };
}
