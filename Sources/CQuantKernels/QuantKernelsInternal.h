// The x86 builds QuantKernels.c dispatches to (QuantKernelsX86.c); on other CPUs the checks say
// no and the builds are never called.
#ifndef QUANTKERNELS_INTERNAL_H
#define QUANTKERNELS_INTERNAL_H

#include "CQuantKernels.h"

int cqk_x86_has_avx2(void);
int cqk_x86_has_avx512_vnni(void);

void cqk_q8a_vnni(cqk_weight_type type, const void *w, ptrdiff_t k, ptrdiff_t d0, ptrdiff_t d1,
                  const cqk_block_q8a *x, ptrdiff_t n, float *y, ptrdiff_t ldy);
void cqk_q8a_avx2(cqk_weight_type type, const void *w, ptrdiff_t k, ptrdiff_t d0, ptrdiff_t d1,
                  const cqk_block_q8a *x, ptrdiff_t n, float *y, ptrdiff_t ldy);
void cqk_f32_avx512(cqk_weight_type type, const void *w, ptrdiff_t k, ptrdiff_t d0, ptrdiff_t d1,
                    const float *x, ptrdiff_t ldx, ptrdiff_t n, float *y, ptrdiff_t ldy);
void cqk_f32_avx2(cqk_weight_type type, const void *w, ptrdiff_t k, ptrdiff_t d0, ptrdiff_t d1,
                  const float *x, ptrdiff_t ldx, ptrdiff_t n, float *y, ptrdiff_t ldy);

#endif
