/* lib_ge_runner.c -- the exported functions of libge_runner.so: GE's C++
 * API.  The stand-in does not model any of them yet (the ge::Session
 * members and GeSessionLoadGraph of ABI.md section 9 belong here); the
 * library exists because libge_runtime_wrapper.so needs it, as on CANN. */
#include "stub_internal.h"
