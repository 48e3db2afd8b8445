internal import CNNKernels
import LinearAlgebra

/// The builds of NN's `Float` C kernels (GELU, SiLU, softmax's row passes): one loop compiled
/// for the x86-64 baseline, for AVX2+FMA and for AVX-512. They compute the same polynomials;
/// with fused multiply-adds the last bit can differ from the portable build's.
enum FloatKernelBuild: CaseIterable, Sendable, CustomStringConvertible {
    case portable, avx2FMA, avx512

    var c: nn_build {
        switch self {
        case .portable: NN_BUILD_PORTABLE
        case .avx2FMA: NN_BUILD_AVX2_FMA
        case .avx512: NN_BUILD_AVX512
        }
    }

    /// Whether this build runs here: the kernels' own check (`__builtin_cpu_supports`) and, for
    /// AVX-512, the one that picks OpenBLAS's core (cpuid and XCR0: the OS saves the zmm and
    /// opmask registers).
    var isSupported: Bool {
        nn_build_supported(c) != 0 && (self != .avx512 || CPUDescription.current.features.usableAVX512)
    }

    /// The widest build that runs here, chosen once per process: what the layers run.
    static let best = allCases.last { $0.isSupported }!

    var description: String {
        switch self {
        case .portable: "portable"
        case .avx2FMA: "AVX2+FMA"
        case .avx512: "AVX-512"
        }
    }
}

/// Runs a value-and-slope C kernel (`nn_gelu_f32`, `nn_silu_f32`) in its widest build on
/// `range` when `Scalar` is `Float`; returns whether it did (other scalars take the Swift loop).
@inline(__always)
private func runFloatKernel<Scalar: MatrixScalar>(
    _ kernel: (nn_build, UnsafePointer<Float>?, UnsafeMutablePointer<Float>?, UnsafeMutablePointer<Float>?, Int) -> Void,
    _ x: UnsafeBufferPointer<Scalar>, values y: UnsafeMutableBufferPointer<Scalar>,
    slopes slope: UnsafeMutableBufferPointer<Scalar>, range: Range<Int>
) -> Bool {
    guard Scalar.self == Float.self else { return false }
    let xf = UnsafeRawPointer(x.baseAddress!).assumingMemoryBound(to: Float.self)
    let yf = UnsafeMutableRawPointer(y.baseAddress!).assumingMemoryBound(to: Float.self)
    let sf = UnsafeMutableRawPointer(slope.baseAddress!).assumingMemoryBound(to: Float.self)
    kernel(FloatKernelBuild.best.c, xf + range.lowerBound, yf + range.lowerBound, sf + range.lowerBound, range.count)
    return true
}

/// `yᵢ = GELU(xᵢ)` and `slopeᵢ = GELU′(xᵢ)` for `i ∈ range` (the formulas of ``GELU``).
///
/// `Double` (and any other scalar) uses libm's `erf` and `exp`. `Float` runs the C kernel
/// `nn_gelu_f32`: the same exact-erf formulas with `erf` and `exp` evaluated by branch-free
/// polynomials (within 3 ulp of the correctly rounded `erf`, 1–2 ulp for `exp`: float rounding,
/// not a different GELU), in its widest build here (``FloatKernelBuild/best``), because Swift
/// itself targets the x86-64 baseline (no FMA): faster than the same polynomials in Swift, and
/// much faster than two libm calls per element (docs/PERFORMANCE.md).
@inline(__always)
func computeGELU<Scalar: MatrixScalar>(
    _ x: UnsafeBufferPointer<Scalar>, values y: UnsafeMutableBufferPointer<Scalar>,
    slopes slope: UnsafeMutableBufferPointer<Scalar>, range: Range<Int>
) {
    if runFloatKernel(nn_gelu_f32, x, values: y, slopes: slope, range: range) { return }
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
/// runs the C kernel `nn_silu_f32` (the GELU's polynomial `exp`, ``FloatKernelBuild/best``); other
/// scalars call libm.
@inline(__always)
func computeSiLU<Scalar: MatrixScalar>(
    _ x: UnsafeBufferPointer<Scalar>, values y: UnsafeMutableBufferPointer<Scalar>,
    slopes slope: UnsafeMutableBufferPointer<Scalar>, range: Range<Int>
) {
    if runFloatKernel(nn_silu_f32, x, values: y, slopes: slope, range: range) { return }
    for i in range {
        let v = x[i]
        let sigma = 1 / (1 + Scalar.exp(-v))
        y[i] = v * sigma
        slope[i] = sigma * (1 + v * (1 - sigma))
    }
}

/// The `Float` SiLU kernel in `build` (which must run here), for tests.
func floatSiLU(_ x: [Float], build: FloatKernelBuild) -> (values: [Float], slopes: [Float]) {
    precondition(build.isSupported, "floatSiLU: the \(build) build does not run on this CPU")
    return valuesAndSlopes(x) { nn_silu_f32(build.c, $0, $1, $2, $3) }
}

/// `kernel(x, values, slopes, count)` on a whole array.
private func valuesAndSlopes(
    _ x: [Float], _ kernel: (UnsafePointer<Float>, UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void
) -> (values: [Float], slopes: [Float]) {
    var values = [Float](repeating: 0, count: x.count), slopes = values
    values.withUnsafeMutableBufferPointer { y in
        slopes.withUnsafeMutableBufferPointer { s in kernel(x, y.baseAddress!, s.baseAddress!, x.count) }
    }
    return (values, slopes)
}

/// `maxⱼ xⱼ` for `j < count` (`count > 0`): the `Float` C kernel `nn_max_f32` in 16 lanes, a loop
/// for other scalars.
@inline(__always)
func rowMaximum<Scalar: MatrixScalar>(_ x: UnsafePointer<Scalar>, count: Int) -> Scalar {
    if Scalar.self == Float.self {
        let maximum = nn_max_f32(FloatKernelBuild.best.c, UnsafeRawPointer(x).assumingMemoryBound(to: Float.self), count)
        return unsafeBitCast(maximum, to: Scalar.self)
    }
    var maximum = x[0]
    for j in 1..<count { maximum = max(maximum, x[j]) }
    return maximum
}

/// `xⱼ ← e^{xⱼ − shift}` for `j < count`, every `xⱼ ≤ shift`, returning `Σⱼ xⱼ` (softmax's
/// exponentials, shifted by the row's maximum, and their normaliser). `Float` runs the C kernel
/// `nn_shifted_exp_sum_f32` (the GELU's polynomial `exp`, 1–2 ulp, summed in 16 lanes in the same
/// pass, ``FloatKernelBuild/best``) instead of one libm call per element; other scalars call libm
/// and ``interleavedSum(_:_:)``.
@inline(__always)
func exponentiateShiftedSum<Scalar: MatrixScalar>(_ x: UnsafeMutablePointer<Scalar>, count: Int, shift: Scalar) -> Scalar {
    if Scalar.self == Float.self {
        let sum = nn_shifted_exp_sum_f32(
            FloatKernelBuild.best.c, UnsafeMutableRawPointer(x).assumingMemoryBound(to: Float.self), count,
            unsafeBitCast(shift, to: Float.self))
        return unsafeBitCast(sum, to: Scalar.self)
    }
    for j in 0..<count { x[j] = Scalar.exp(x[j] - shift) }
    return interleavedSum(count) { x[$0] }
}

/// `Σⱼ aⱼ·bⱼ` for `j < count`: the `Float` C kernel `nn_dot_f32` (16 partial sums), otherwise
/// ``interleavedSum(_:_:)``.
@inline(__always)
func dotProduct<Scalar: MatrixScalar>(_ a: UnsafePointer<Scalar>, _ b: UnsafePointer<Scalar>, count: Int) -> Scalar {
    if Scalar.self == Float.self {
        let dot = nn_dot_f32(
            FloatKernelBuild.best.c, UnsafeRawPointer(a).assumingMemoryBound(to: Float.self),
            UnsafeRawPointer(b).assumingMemoryBound(to: Float.self), count)
        return unsafeBitCast(dot, to: Scalar.self)
    }
    return interleavedSum(count) { a[$0] * b[$0] }
}

/// The `Float` shifted exponentials `e^{xⱼ − shift}` and their sum in `build` (which must run
/// here), for tests.
func floatShiftedExponentials(_ x: [Float], shift: Float, build: FloatKernelBuild) -> (values: [Float], sum: Float) {
    precondition(build.isSupported, "floatShiftedExponentials: the \(build) build does not run on this CPU")
    var values = x
    let sum = values.withUnsafeMutableBufferPointer { nn_shifted_exp_sum_f32(build.c, $0.baseAddress!, $0.count, shift) }
    return (values, sum)
}

/// The `Float` row maximum and dot product in `build` (which must run here), for tests.
func floatMaximumAndDot(_ a: [Float], _ b: [Float], build: FloatKernelBuild) -> (maximum: Float, dot: Float) {
    precondition(build.isSupported && a.count == b.count && !a.isEmpty, "floatMaximumAndDot: \(build), \(a.count) and \(b.count) elements")
    return (nn_max_f32(build.c, a, a.count), nn_dot_f32(build.c, a, b, a.count))
}

/// The `Float` GELU kernel in `build` (which must run here), for tests.
func floatGELU(_ x: [Float], build: FloatKernelBuild) -> (values: [Float], slopes: [Float]) {
    precondition(build.isSupported, "floatGELU: the \(build) build does not run on this CPU")
    return valuesAndSlopes(x) { nn_gelu_f32(build.c, $0, $1, $2, $3) }
}
