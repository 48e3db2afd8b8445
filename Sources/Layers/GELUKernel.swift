import LinearAlgebra

/// `yᵢ = GELU(xᵢ)` and `slopeᵢ = GELU′(xᵢ)` for `i ∈ range` (the formulas of ``GELU``).
///
/// `Double` (and any other scalar) uses libm's `erf` and `exp`. `Float` uses
/// ``floatGELU(_:)``: the same exact-erf formulas with `erf` and `exp` evaluated by
/// branch-free polynomials (within 3 ulp of the correctly rounded `erf`, 1–2 ulp for `exp`:
/// float rounding, not a different GELU), instead of two libm calls per element. Written as a
/// plain scalar loop the compiler vectorises, it took half the time of the same polynomials on
/// explicit `SIMD8<Float>` (12 against 25 ms per 2048×1024 forward, measured in training).
@inline(__always)
func computeGELU<Scalar: MatrixScalar>(
    _ x: UnsafeBufferPointer<Scalar>, values y: UnsafeMutableBufferPointer<Scalar>,
    slopes slope: UnsafeMutableBufferPointer<Scalar>, range: Range<Int>
) {
    if Scalar.self == Float.self {
        let xf = UnsafeRawPointer(x.baseAddress!).assumingMemoryBound(to: Float.self)
        let yf = UnsafeMutableRawPointer(y.baseAddress!).assumingMemoryBound(to: Float.self)
        let sf = UnsafeMutableRawPointer(slope.baseAddress!).assumingMemoryBound(to: Float.self)
        for i in range {
            let (value, derivative) = floatGELU(xf[i])
            yf[i] = value
            sf[i] = derivative
        }
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

/// The SIMD vector of the `Float` GELU kernel.
/// `(GELU(v), GELU′(v))` in `Float`: `Φ = ½(1 + erf(v/√2))`, `GELU = v·Φ`,
/// `GELU′ = Φ + v·e^{−v²/2}/√(2π)`, with one shared `e^{−a²}` (`a = |v|/√2`). Written with
/// selects instead of branches and no calls, so the loop that calls it vectorises.
///
/// `erf(a)` for `a ≥ 0`: `a·P(a²)` on `[0, 1)` (degree 6, relative error 5·10⁻⁹),
/// `1 − e^{−a²}·Q(s)` on `[1, 4)` with `s = (1/a − 0.625)/0.375` (degree 10 fit of
/// `erfc(a)·e^{a²}`, relative error 7·10⁻⁹), and 1 beyond (`erfc(4) < 2·10⁻⁸`, below half an
/// ulp of 1). Coefficients are Chebyshev least-squares fits in `Double`
/// (`scripts/fixtures/gelu_float_erf_fit.py`).
@inline(__always)
func floatGELU(_ v: Float) -> (value: Float, slope: Float) {
    let a = v.magnitude * 0.70710678118654752
    let belowOne = a < 1
    let t = a * a
    let gaussian = floatExpNonPositive(-t)
    var inner: Float = 8.006266903e-05
    inner = inner * t + -0.0008053592345
    inner = inner * t + 0.005192942553
    inner = inner * t + -0.02685606292
    inner = inner * t + 0.1128363451
    inner = inner * t + -0.3761262976
    inner = inner * t + 1.128379166
    let reciprocal = 1 / (belowOne ? 1 : a)
    let s = (reciprocal - 0.625) * 2.6666666666666667
    var tail: Float = -2.023291917e-06
    tail = tail * s + 3.724871795e-06
    tail = tail * s + 2.255808122e-06
    tail = tail * s + -2.788846809e-05
    tail = tail * s + 0.000119825555
    tail = tail * s + -0.0003482445686
    tail = tail * s + 0.0004614937402
    tail = tail * s + 0.002308053257
    tail = tail * s + -0.02424302844
    tail = tail * s + 0.1433564124
    tail = tail * s + 0.3059529926
    let erfBelowFour = belowOne ? a * inner : 1 - gaussian * tail
    let magnitude: Float = a >= 4 ? 1 : erfBelowFour
    let signBit = v.bitPattern & 0x8000_0000
    let cdf = (1 + Float(bitPattern: magnitude.bitPattern | signBit)) * 0.5
    return (v * cdf, cdf + v * gaussian * 0.39894228040143268)
}

/// `e^z` for `z ≤ 0` in `Float`: `z = n·ln 2 + r` with `|r| ≤ ln 2/2` (Cody–Waite split of
/// `ln 2`), `e^r` by its degree-7 Taylor polynomial (remainder below 6·10⁻⁹), `2ⁿ` from the
/// exponent bits. `z < −87` is treated as −87 (`e^{−87} ≈ 1.6·10⁻³⁸`).
@inline(__always)
func floatExpNonPositive(_ z: Float) -> Float {
    let clamped = z < -87 ? -87 : z
    let roundingShift: Float = 12_582_912  // 1.5·2²³: adding it rounds to an integer in the low bits
    let shifted = clamped * 1.44269504088896341 + roundingShift
    let n = shifted - roundingShift
    let r = (clamped - n * 0.693359375) - n * -2.12194440e-4
    var p: Float = 1.0 / 5040
    p = p * r + 1.0 / 720
    p = p * r + 1.0 / 120
    p = p * r + 1.0 / 24
    p = p * r + 1.0 / 6
    p = p * r + 0.5
    p = p * r + 1
    p = p * r + 1
    let exponentBits = (shifted.bitPattern &- roundingShift.bitPattern &+ 127) &<< 23
    return p * Float(bitPattern: exponentBits)
}
