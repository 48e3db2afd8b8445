import Foundation
@testable import NN
import LinearAlgebra
import Testing

/// Forward passes against their definitions, written as naive loops.
@Suite("Layer forward passes")
struct ForwardTests {
    func checkLinear<T: MatrixScalar>(_: T.Type) {
        let layer = Linear<T>(weight: Matrix([[1, 2, 3], [4, 5, 6]]), bias: Matrix([[0.5, -1]]))
        let y = layer.forward(Matrix([[1, 0, -1], [2, 1, 0]]))
        #expect(y == Matrix([[-1.5, -3], [4.5, 12]]))
    }

    @Test func linear() {
        checkLinear(Float.self)
        checkLinear(Double.self)
    }

    func checkLayerNorm<T: MatrixScalar>(_: T.Type, tolerance: T) {
        let norm = LayerNorm<T>(features: 4)
        norm.gain.value = Matrix([[1, 2, 1, 1]])
        norm.shift.value = Matrix([[0, 0, 0, 3]])
        let y = norm.forward(Matrix([[1, 2, 3, 4]]))
        // μ = 2.5, σ² = 1.25: x̂ = (x − μ)/√(1.25 + 1e-5).
        let s = (T(1.25) + T(1e-5)).squareRoot()
        let expected = Matrix<T>([[-1.5 / s, 2 * -0.5 / s, 0.5 / s, 1.5 / s + 3]])
        #expect((y - expected).frobeniusNorm < tolerance)
    }

    @Test func layerNorm() {
        checkLayerNorm(Float.self, tolerance: 1e-6)
        checkLayerNorm(Double.self, tolerance: 1e-14)
    }

    func checkGELU<T: MatrixScalar>(_: T.Type, tolerance: T) {
        // Reference values of x·Φ(x) (Python's math.erf).
        let y = GELU<T>().forward(Matrix([[-2, -0.5, 0, 1, 3]]))
        let expected = Matrix<T>([[-0.04550026389635842, -0.15426876936299344, 0, 0.8413447460685429, 2.99595030590511]])
        #expect((y - expected).frobeniusNorm < tolerance)
    }

    @Test func gelu() {
        checkGELU(Float.self, tolerance: 1e-6)
        checkGELU(Double.self, tolerance: 1e-14)
    }

    /// The `Float` GELU (polynomial `erf` and `exp`, split across threads, in the widest build
    /// here) and every build of its kernel that runs here (portable, AVX2+FMA, AVX-512) against
    /// the `Double` one (libm) on a dense grid: values and slopes agree to float rounding.
    @Test func floatGELUMatchesDouble() {
        let count = 40_003  // several chunks and a partial SIMD vector at the end
        let xs = (0..<count).map { -12 + 24 * Double($0) / Double(count - 1) }
        let single = GELU<Float>(), double = GELU<Double>()
        let y = single.forward(Matrix(rows: 1, columns: count, elements: xs.map { Float($0) }))
        let slope = single.backward(Matrix(rows: 1, columns: count, repeating: 1))
        let builds = FloatKernelBuild.allCases.filter(\.isSupported).map { floatGELU(xs.map { Float($0) }, build: $0) }
        let xRounded = Matrix(rows: 1, columns: count, elements: xs.map { Double(Float($0)) })
        let yReference = double.forward(xRounded)
        let slopeReference = double.backward(Matrix(rows: 1, columns: count, repeating: 1))
        for (values, slopes) in [(y.elements, slope.elements)] + builds.map({ ($0.values, $0.slopes) }) {
            var worstValue = 0.0, worstSlope = 0.0
            for i in 0..<count {
                worstValue = max(worstValue, abs(Double(values[i]) - yReference[0, i]) / max(1, abs(xs[i])))
                worstSlope = max(worstSlope, abs(Double(slopes[i]) - slopeReference[0, i]))
            }
            #expect(worstValue < 4e-7)
            #expect(worstSlope < 4e-7)
        }
    }

    /// Softmax's `Float` exponentials `e^{x − shift}` (polynomial; as the layers run it, and every
    /// build that runs here) against `Double`'s `exp` on `[−100, 0]`, below where `e^z` underflows
    /// (`z < −87` is clamped there): relative error within float rounding of `e^z` for the
    /// `Float` argument `z = x − shift`.
    @Test func floatShiftedExponentialsMatchDouble() {
        let count = 10_007
        let xs = (0..<count).map { Float(3 - 100 * Double($0) / Double(count - 1)) }  // shifted by 3
        var dispatched = xs
        let dispatchedSum = dispatched.withUnsafeMutableBufferPointer { exponentiateShiftedSum($0.baseAddress!, count: count, shift: 3) }
        let builds = FloatKernelBuild.allCases.filter(\.isSupported).map { floatShiftedExponentials(xs, shift: 3, build: $0) }
        let referenceSum = xs.reduce(0.0) { $0 + Foundation.exp(Double($1 - 3)) }
        for (values, sum) in [(dispatched, dispatchedSum)] + builds.map({ ($0.values, $0.sum) }) {
            var worst = 0.0
            for i in 0..<count where xs[i] - 3 >= -87 {
                let reference = Foundation.exp(Double(xs[i] - 3))  // of the argument as Float rounds it
                worst = max(worst, abs(Double(values[i]) - reference) / reference)
            }
            #expect(worst < 4e-7)
            #expect(abs(Double(sum) - referenceSum) / referenceSum < 1e-5)
        }
    }

    /// Each vector build of the GELU, SiLU and shifted-exponential kernels against the portable
    /// build, on lengths that end in every kind of remainder (none, a partial 4-, 8- or 16-wide
    /// vector, scalars): within 4 ulp (fused multiply-adds round differently) or, for the GELU's and
    /// SiLU's outputs of order 1, 4 ulp of 1 where they cancel to near 0, at every index; the row
    /// maximum exactly, and the lane sums (exponentials, dot products) against a `Double` sum.
    @Test(arguments: FloatKernelBuild.allCases.filter { $0 != .portable && $0.isSupported })
    func kernelBuildsMatchThePortableBuild(build: FloatKernelBuild) {
        func close(_ a: [Float], _ b: [Float], _ what: String, floor: Float = 4 * Float.ulpOfOne) {
            #expect(a.count == b.count)
            for (i, (x, y)) in zip(a, b).enumerated() where abs(x - y) > max(4 * max(x.ulp, y.ulp), floor) {
                Issue.record("\(build) \(what)[\(i)] = \(x), portable \(y)")
                return
            }
        }
        for count in [0, 1, 3, 4, 7, 15, 16, 17, 31, 32, 33, 63, 65, 1_000] {
            let xs = (0..<count).map { Float(-9 + 18 * Double($0) / Double(max(count - 1, 1))) }
            for (name, kernel) in [("GELU", floatGELU), ("SiLU", floatSiLU)] {
                let (fast, portable) = (kernel(xs, build), kernel(xs, .portable))
                close(fast.values, portable.values, "\(name) n=\(count) value")
                close(fast.slopes, portable.slopes, "\(name) n=\(count) slope")
            }
            let shifted = xs.map { $0 - 9 }
            let (fast, portable) = (floatShiftedExponentials(shifted, shift: 0, build: build),
                                    floatShiftedExponentials(shifted, shift: 0, build: .portable))
            close(fast.values, portable.values, "exp n=\(count)", floor: 0)
            let expSum = portable.values.reduce(0.0) { $0 + Double($1) }
            #expect(abs(Double(fast.sum) - expSum) <= 1e-6 * max(expSum, 1e-30), "\(build) exp sum n=\(count)")
            guard count > 0 else { continue }
            let ys = xs.reversed().map { $0 * 0.5 + 1 }
            let (maximum, dot) = floatMaximumAndDot(xs, Array(ys), build: build)
            #expect(maximum == xs.max()!, "\(build) max n=\(count)")
            #expect(floatMaximumAndDot(xs, Array(ys), build: .portable).maximum == xs.max()!)
            let dotReference = zip(xs, ys).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
            let magnitude = zip(xs, ys).reduce(0.0) { $0 + abs(Double($1.0) * Double($1.1)) }
            #expect(abs(Double(dot) - dotReference) <= 1e-6 * max(magnitude, 1), "\(build) dot n=\(count)")
        }
    }

    /// Attention by its definition: per sequence and head, softmax(QKᵀ/√(d/h))·V, then W_o.
    func naiveAttention<T: MatrixScalar>(_ layer: MultiHeadSelfAttention<T>, _ x: Matrix<T>, t: Int) -> Matrix<T> {
        func weight(_ name: String) -> Matrix<T> { layer.namedParameters().first { $0.path == name + ".weight" }!.parameter.value }
        let q = x * weight("q_proj").transposed, k = x * weight("k_proj").transposed, v = x * weight("v_proj").transposed
        let (n, d, h) = (x.rows, x.columns, layer.heads)
        let size = d / h
        var attended = Matrix<T>.zeros(n, d)
        for b in 0..<(n / t) {
            for head in 0..<h {
                for i in 0..<t {
                    let visible = layer.isCausal ? i + 1 : t
                    var scores = (0..<visible).map { j in
                        (0..<size).reduce(T(0)) { $0 + q[b * t + i, head * size + $1] * k[b * t + j, head * size + $1] }
                            / T(size).squareRoot()
                    }
                    let top = scores.max()!
                    scores = scores.map { T.exp($0 - top) }
                    let total = scores.reduce(0, +)
                    for c in 0..<size {
                        attended[b * t + i, head * size + c] =
                            (0..<visible).reduce(T(0)) { $0 + scores[$1] / total * v[b * t + $1, head * size + c] }
                    }
                }
            }
        }
        return attended * weight("o_proj").transposed
    }

    func checkAttention<T: MatrixScalar>(_: T.Type, isCausal: Bool, tolerance: T) {
        var generator = SeededGenerator(seed: 8)
        let layer = MultiHeadSelfAttention<T>(features: 8, heads: 4, isCausal: isCausal, using: &generator)
        let x = Matrix<T>.randomNormal(rows: 10, columns: 8, using: &generator)
        let y = layer.forward(x, sequenceLength: 5)
        let expected = naiveAttention(layer, x, t: 5)
        #expect((y - expected).frobeniusNorm / expected.frobeniusNorm < tolerance)
    }

    @Test func attention() {
        for isCausal in [false, true] {
            checkAttention(Float.self, isCausal: isCausal, tolerance: 1e-5)
            checkAttention(Double.self, isCausal: isCausal, tolerance: 1e-13)
        }
    }
}
