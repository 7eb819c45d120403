/* lib_es_math.c -- the exported functions of libes_math.so, an op library
 * that GE's add_es_library tooling generates (CANN does not install it):
 * the strong EsAdd, EsSub, EsMul and EsDiv (docs/abi.md section 7), each a thin
 * wrapper: enter, the implementation (graphs.c), leave. */
#include "stub_internal.h"

void *EsAdd(void *x1, void *x2)
{
    ge_stub_enter();
    void *h = builder_binary_op_locked(__func__, OP_ADD, x1, x2);
    ge_stub_leave();
    return h;
}

void *EsSub(void *x1, void *x2)
{
    ge_stub_enter();
    void *h = builder_binary_op_locked(__func__, OP_SUB, x1, x2);
    ge_stub_leave();
    return h;
}

void *EsMul(void *x1, void *x2)
{
    ge_stub_enter();
    void *h = builder_binary_op_locked(__func__, OP_MUL, x1, x2);
    ge_stub_leave();
    return h;
}

void *EsDiv(void *x1, void *x2)
{
    ge_stub_enter();
    void *h = builder_binary_op_locked(__func__, OP_DIV, x1, x2);
    ge_stub_leave();
    return h;
}
