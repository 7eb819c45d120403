/* tensor_text.c -- the text form of a tensor's values, as
 * GeApiWrapper_Tensor_GetData gives it (c_tensor.cc: TensorValueUtils::
 * ConvertTensorValue(tensor, dtype, ",", false), metadef
 * graph/utils/tensor_value_utils.cc).
 *
 *  - the data type is looked at first: FLOAT, FLOAT16, DOUBLE, INT8, INT16,
 *    INT32, INT64, UINT8, UINT16, UINT32, UINT64 and BOOL have a text form,
 *    any other gives "<not_supported>" (even with no data);
 *  - a storage of 0 bytes gives "<empty>";
 *  - no data pointer, or a size that is not a multiple of the element size,
 *    gives "<invalid>";
 *  - else "[v0,v1,...]": every element of the storage (so a padded storage
 *    shows its padding), std::to_string of each (integers in decimal, FLOAT
 *    and DOUBLE as "%f", FLOAT16 converted to float first), BOOL as
 *    "true"/"false". */
#include "stub_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The element size of a data type with a text form, 0 for the others. */
static size_t text_element_size(int dtype)
{
    switch (dtype) {
    case DT_FLOAT: case DT_FLOAT16: case DT_DOUBLE: case DT_INT8: case DT_INT16:
    case DT_INT32: case DT_INT64: case DT_UINT8: case DT_UINT16: case DT_UINT32:
    case DT_UINT64: case DT_BOOL:
        return dtype_size(dtype);
    default:
        return 0;
    }
}

const char *tensor_text_fixed(int dtype, const uint8_t *p, size_t nbytes)
{
    size_t esz = text_element_size(dtype);
    if (!esz)
        return "<not_supported>";
    if (nbytes == 0)
        return "<empty>";
    if (!p || nbytes % esz != 0)
        return "<invalid>";
    return NULL;
}

/* One element as std::to_string writes it (bool: true/false). */
static int element_text(int dtype, const uint8_t *e, char *buf, size_t cap)
{
    union { int8_t i8; uint8_t u8; int16_t i16; uint16_t u16; int32_t i32; uint32_t u32;
            int64_t i64; uint64_t u64; float f; double d; } u;
    memcpy(&u, e, dtype_size(dtype));
    switch (dtype) {
    case DT_INT8:    return snprintf(buf, cap, "%d", u.i8);
    case DT_UINT8:   return snprintf(buf, cap, "%d", u.u8);
    case DT_BOOL:    return snprintf(buf, cap, "%s", u.u8 ? "true" : "false");
    case DT_INT16:   return snprintf(buf, cap, "%d", u.i16);
    case DT_UINT16:  return snprintf(buf, cap, "%d", u.u16);
    case DT_INT32:   return snprintf(buf, cap, "%" PRId32, u.i32);
    case DT_UINT32:  return snprintf(buf, cap, "%" PRIu32, u.u32);
    case DT_INT64:   return snprintf(buf, cap, "%" PRId64, u.i64);
    case DT_UINT64:  return snprintf(buf, cap, "%" PRIu64, u.u64);
    case DT_FLOAT16: return snprintf(buf, cap, "%f", (double)f16_to_f32(u.u16));
    case DT_FLOAT:   return snprintf(buf, cap, "%f", (double)u.f);
    default:         return snprintf(buf, cap, "%f", u.d);   /* DT_DOUBLE */
    }
}

/* A growing string. */
typedef struct Text { char *s; size_t n, cap; bool failed; } Text;

static void text_put(Text *t, const char *part, size_t len)
{
    if (t->failed)
        return;
    if (t->n + len + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 64;
        while (cap < t->n + len + 1 && cap <= SIZE_MAX / 2)
            cap *= 2;
        char *s = cap >= t->n + len + 1 ? realloc(t->s, cap) : NULL;
        if (!s) {
            t->failed = true;
            return;
        }
        t->s = s;
        t->cap = cap;
    }
    memcpy(t->s + t->n, part, len);
    t->n += len;
    t->s[t->n] = '\0';
}

char *tensor_values_text(int dtype, const uint8_t *p, size_t nbytes)
{
    size_t esz = text_element_size(dtype);
    size_t count = nbytes / esz;
    Text t = { 0 };
    text_put(&t, "[", 1);
    for (size_t i = 0; i < count && !t.failed; i++) {
        char v[400];   /* "%f" of the largest double is 316 characters */
        int k = element_text(dtype, p + i * esz, v, sizeof v);
        if (i)
            text_put(&t, ",", 1);
        text_put(&t, v, k > 0 ? (size_t)k : 0);
    }
    text_put(&t, "]", 1);
    if (t.failed) {
        free(t.s);
        return NULL;
    }
    return t.s;
}
