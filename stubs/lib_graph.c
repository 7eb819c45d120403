/* lib_graph.c -- the exported functions of libgraph.so that the stand-in
 * models: the ge::Tensor members of ABI.md section 6, under their
 * Itanium-mangled names, called with the tensor handle as `this`. */
#include "stub_internal.h"

/* const uint8_t *ge::Tensor::GetData() const */
const uint8_t *_ZNK2ge6Tensor7GetDataEv(void *tensor)
{
    ge_stub_enter();
    const uint8_t *p = tensor_raw_data_locked(__func__, tensor);
    ge_stub_leave();
    return p;
}

/* size_t ge::Tensor::GetSize() const */
size_t _ZNK2ge6Tensor7GetSizeEv(void *tensor)
{
    ge_stub_enter();
    size_t n = tensor_raw_size_locked(__func__, tensor);
    ge_stub_leave();
    return n;
}
