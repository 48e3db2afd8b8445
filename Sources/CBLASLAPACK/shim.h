// The C interface LoRAKit uses: OpenBLAS's CBLAS (plus its thread controls) and LAPACKE.
// Only the LinearAlgebra module imports this, as an internal import.
#include <cblas.h>
#include <lapacke.h>
