internal import CNNKernels
import LinearAlgebra

/// `yᵢ = GELU(xᵢ)` and `slopeᵢ = GELU′(xᵢ)` for `i ∈ range` (the formulas of ``GELU``).
///
/// `Double` (and any other scalar) uses libm's `erf` and `exp`. `Float` runs the C kernel
/// `nn_gelu_f32`: the same exact-erf formulas with `erf` and `exp` evaluated by branch-free
/// polynomials (within 3 ulp of the correctly rounded `erf`, 1–2 ulp for `exp`: float rounding,
/// not a different GELU), built for AVX2+FMA and chosen at run time, because Swift itself targets
/// the x86-64 baseline (no FMA): faster than the same polynomials in Swift, and much faster than
/// two libm calls per element (docs/PERFORMANCE.md).
@inline(__always)
func computeGELU<Scalar: MatrixScalar>(
    _ x: UnsafeBufferPointer<Scalar>, values y: UnsafeMutableBufferPointer<Scalar>,
    slopes slope: UnsafeMutableBufferPointer<Scalar>, range: Range<Int>
) {
    if Scalar.self == Float.self {
        let xf = UnsafeRawPointer(x.baseAddress!).assumingMemoryBound(to: Float.self)
        let yf = UnsafeMutableRawPointer(y.baseAddress!).assumingMemoryBound(to: Float.self)
        let sf = UnsafeMutableRawPointer(slope.baseAddress!).assumingMemoryBound(to: Float.self)
        nn_gelu_f32(xf + range.lowerBound, yf + range.lowerBound, sf + range.lowerBound, range.count)
        return
    }
    let inverseSqrt2 = 1 / Scalar(2).squareRoot()
    let inverseSqrt2Pi = 1 / (2 * Scalar.pi).squareRoot()
    for i in range {
        let v = x[i]
        let cdf = (1 + Scalar.erf(v * inverseSqrt2)) / 2
        y[i] = v * cdf
        slope[i] = cdf + v * Scalar.exp(-v * v / 2) * inverseSqrt2Pi
    }
}

/// `yᵢ = SiLU(xᵢ)` and `slopeᵢ = SiLU′(xᵢ)` for `i ∈ range` (the formulas of ``SwiGLU``). `Float`
/// runs the C kernel `nn_silu_f32` (the GELU's polynomial `exp`); other scalars call libm.
@inline(__always)
func computeSiLU<Scalar: MatrixScalar>(
    _ x: UnsafeBufferPointer<Scalar>, values y: UnsafeMutableBufferPointer<Scalar>,
    slopes slope: UnsafeMutableBufferPointer<Scalar>, range: Range<Int>
) {
    if Scalar.self == Float.self {
        let xf = UnsafeRawPointer(x.baseAddress!).assumingMemoryBound(to: Float.self)
        let yf = UnsafeMutableRawPointer(y.baseAddress!).assumingMemoryBound(to: Float.self)
        let sf = UnsafeMutableRawPointer(slope.baseAddress!).assumingMemoryBound(to: Float.self)
        nn_silu_f32(xf + range.lowerBound, yf + range.lowerBound, sf + range.lowerBound, range.count)
        return
    }
    for i in range {
        let v = x[i]
        let sigma = 1 / (1 + Scalar.exp(-v))
        y[i] = v * sigma
        slope[i] = sigma * (1 + v * (1 - sigma))
    }
}

/// The portable build of the `Float` SiLU kernel, for tests.
func portableFloatSiLU(_ x: [Float]) -> (values: [Float], slopes: [Float]) {
    var values = [Float](repeating: 0, count: x.count), slopes = values
    values.withUnsafeMutableBufferPointer { y in
        slopes.withUnsafeMutableBufferPointer { s in
            nn_silu_f32_portable(x, y.baseAddress!, s.baseAddress!, x.count)
        }
    }
    return (values, slopes)
}

/// `xⱼ ← e^{xⱼ − shift}` for `j < count`, every `xⱼ ≤ shift` (softmax's exponentials, shifted by
/// the row's maximum). `Float` runs the C kernel `nn_shifted_exp_f32` (the GELU's polynomial
/// `exp`, 1–2 ulp, AVX2+FMA when the CPU has it) instead of one libm call per element; other
/// scalars call libm.
@inline(__always)
func exponentiateShifted<Scalar: MatrixScalar>(_ x: UnsafeMutablePointer<Scalar>, count: Int, shift: Scalar) {
    if Scalar.self == Float.self {
        nn_shifted_exp_f32(UnsafeMutableRawPointer(x).assumingMemoryBound(to: Float.self), count, unsafeBitCast(shift, to: Float.self))
        return
    }
    for j in 0..<count { x[j] = Scalar.exp(x[j] - shift) }
}

/// The portable build of the `Float` shifted exponentials, for tests: `e^{xⱼ − shift}`.
func portableShiftedExponentials(_ x: [Float], shift: Float) -> [Float] {
    var values = x
    values.withUnsafeMutableBufferPointer { nn_shifted_exp_f32_portable($0.baseAddress!, $0.count, shift) }
    return values
}

/// The portable build of the `Float` GELU kernel (what CPUs without AVX2 and FMA run), for tests.
func portableFloatGELU(_ x: [Float]) -> (values: [Float], slopes: [Float]) {
    var values = [Float](repeating: 0, count: x.count), slopes = values
    values.withUnsafeMutableBufferPointer { y in
        slopes.withUnsafeMutableBufferPointer { s in
            nn_gelu_f32_portable(x, y.baseAddress!, s.baseAddress!, x.count)
        }
    }
    return (values, slopes)
}
