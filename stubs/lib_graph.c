/* lib_graph.c -- the exported functions of libgraph.so that the stand-in
 * models: the ge::Tensor members of docs/abi.md section 6 (metadef
 * graph/normal_graph/tensor.cc), under their Itanium-mangled names, called
 * with the tensor handle as `this` (and a TensorDesc handle as the
 * reference argument of SetTensorDesc). */
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

/* graphStatus ge::Tensor::SetData(const uint8_t *data, size_t size) */
uint32_t _ZN2ge6Tensor7SetDataEPKhm(void *tensor, const uint8_t *data, size_t size)
{
    ge_stub_enter();
    Status st = tensor_raw_set_data_locked(__func__, tensor, data, size);
    ge_stub_leave();
    return st;
}

/* graphStatus ge::Tensor::SetTensorDesc(const TensorDesc &tensor_desc) */
uint32_t _ZN2ge6Tensor13SetTensorDescERKNS_10TensorDescE(void *tensor, const void *tensor_desc)
{
    ge_stub_enter();
    Status st = tensor_set_desc_locked(__func__, tensor, tensor_desc);
    ge_stub_leave();
    return st;
}
