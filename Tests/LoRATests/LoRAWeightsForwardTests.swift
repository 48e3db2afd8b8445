import LinearAlgebra
@testable import LoRA
import Testing

/// The optimised forward against the three-GEMM definition `Y = X·Wᵀ + s·(X·Aᵀ)·Bᵀ`, computed
/// by naive loops in Double, for merged and unmerged weights and odd shapes.
@Suite("LoRAWeights forward against the three-GEMM form")
struct LoRAWeightsForwardTests {
    /// `(d, k, r, n)`: odd sizes, one token (the GEMV path), rank 1, more tokens than features, no
    /// inputs, and ranks on either side of the packed kernel's limit (16).
    static let shapes = [
        (13, 11, 3, 1), (13, 11, 3, 7), (5, 17, 1, 1), (31, 29, 5, 2), (9, 6, 4, 40), (64, 48, 8, 33), (6, 0, 2, 1), (6, 0, 2, 3),
        (37, 21, 9, 11), (40, 23, 16, 19), (33, 18, 17, 8),
    ]

    /// `X·Mᵀ` by naive loops in Double.
    func naiveTimesTransposed<T: MatrixScalar>(_ x: Matrix<T>, _ m: Matrix<T>) -> [[Double]] {
        (0..<x.rows).map { i in
            (0..<m.rows).map { j in (0..<x.columns).reduce(0.0) { $0 + Double(x[i, $1]) * Double(m[j, $1]) } }
        }
    }

    /// The three-GEMM form `X·Wᵀ + s·(X·Aᵀ)·Bᵀ` by naive loops in Double.
    func reference<T: MatrixScalar>(_ weights: LoRAWeights<T>, _ x: Matrix<T>) -> [[Double]] {
        let base = naiveTimesTransposed(x, weights.base)
        let t = naiveTimesTransposed(x, weights.a)
        return base.indices.map { i in
            (0..<weights.outFeatures).map { j in
                base[i][j] + Double(weights.scale) * (0..<weights.rank).reduce(0.0) { $0 + t[i][$1] * Double(weights.b[j, $1]) }
            }
        }
    }

    /// Largest `|y − reference|` relative to the largest `|reference|`.
    func relativeError<T: MatrixScalar>(_ y: Matrix<T>, _ reference: [[Double]]) -> Double {
        let scale = reference.joined().map(abs).max() ?? 1
        var worst = 0.0
        for i in 0..<y.rows {
            for j in 0..<y.columns { worst = max(worst, abs(Double(y[i, j]) - reference[i][j])) }
        }
        return worst / max(scale, .leastNormalMagnitude)
    }

    /// Seeded weights `W: d×k`, `A: r×k`, `B: d×r`, `s = 1.5` and an input `X: n×k` for one shape.
    func makeCase<T: MatrixScalar>(_: T.Type, d: Int, k: Int, r: Int, n: Int) -> (weights: LoRAWeights<T>, x: Matrix<T>) {
        var generator = SeededGenerator(seed: UInt64(d * 1000 + k * 10 + n))
        let weights = LoRAWeights<T>(
            base: .randomNormal(rows: d, columns: k, using: &generator),
            a: .randomNormal(rows: r, columns: k, using: &generator),
            b: .randomNormal(rows: d, columns: r, using: &generator),
            scale: T(1.5))
        return (weights, .randomNormal(rows: n, columns: k, using: &generator))
    }

    func checkForward<T: MatrixScalar>(_: T.Type, tolerance: Double) {
        for (d, k, r, n) in Self.shapes {
            var (weights, x) = makeCase(T.self, d: d, k: k, r: r, n: n)
            let expected = reference(weights, x)

            var y = Matrix<T>(rows: n, columns: d, repeating: .nan)  // β = 0: old contents ignored
            var workspace = Matrix<T>(rows: r, columns: n, repeating: .nan)
            weights.forward(x, into: &y, workspace: &workspace)
            #expect(relativeError(y, expected) < tolerance, "unmerged d=\(d) k=\(k) r=\(r) n=\(n)")
            #expect(weights.forward(x) == y, "allocating forward differs, d=\(d) k=\(k) r=\(r) n=\(n)")

            var adapterOnly = Matrix<T>.zeros(n, d)
            weights.addAdapter(x, to: &adapterOnly, workspace: &workspace)
            let baseOnly = naiveTimesTransposed(x, weights.base)
            let expectedAdapter = zip(expected, baseOnly).map { zip($0, $1).map { $0 - $1 } }
            #expect(relativeError(adapterOnly, expectedAdapter) < tolerance * 10, "adapter d=\(d) r=\(r) n=\(n)")

            weights.merge()
            var merged = Matrix<T>(rows: n, columns: d, repeating: .nan)
            weights.forward(x, into: &merged, workspace: &workspace)
            #expect(relativeError(merged, expected) < tolerance, "merged d=\(d) k=\(k) r=\(r) n=\(n)")
        }
    }

    @Test func forwardMatchesThreeGEMMFormFloat() { checkForward(Float.self, tolerance: 1e-5) }
    @Test func forwardOnOneBLASThreadMatchesThreeGEMMForm() {
        BLAS.withThreadCount(1) { checkForward(Float.self, tolerance: 1e-5) }  // the packed kernel with no helpers
    }
    @Test func forwardMatchesThreeGEMMFormDouble() { checkForward(Double.self, tolerance: 1e-13) }

    func checkSwap<T: MatrixScalar>(_: T.Type) {
        var generator = SeededGenerator(seed: 5)
        let (d, k) = (10, 7)
        var weights = LoRAWeights<T>(
            base: .randomNormal(rows: d, columns: k, using: &generator),
            a: .randomNormal(rows: 2, columns: k, using: &generator),
            b: .randomNormal(rows: d, columns: 2, using: &generator), scale: 2)
        let newA = Matrix<T>.randomNormal(rows: 3, columns: k, using: &generator)
        let newB = Matrix<T>.randomNormal(rows: d, columns: 3, using: &generator)
        let x = Matrix<T>.randomNormal(rows: 4, columns: k, using: &generator)
        var fresh = LoRAWeights(base: weights.base, a: newA, b: newB, scale: T(0.5))
        let expected = fresh.forward(x)
        weights.merge()
        weights.swapAdapter(a: newA, b: newB, scale: T(0.5))
        #expect(weights.isMerged && weights.rank == 3)
        #expect(relativeError(weights.forward(x), reference(fresh, x)) < 1e-5)
        fresh.merge()
        #expect((weights.base - fresh.base).frobeniusNorm / fresh.base.frobeniusNorm < T(1e-5))
        weights.unmerge()
        #expect(relativeError(weights.forward(x), expected.elementsAsRows) < 1e-5)
        weights.swapAdapter(a: newA[rows: 0..<1], b: newB[columns: 0..<1], scale: 1)
        #expect(!weights.isMerged && weights.adapterParameterCount == d + k)
    }

    @Test func workspaceOfTheWrongShapeTrapsNamingBothShapes() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let weights = LoRAWeights<Float>(base: .zeros(6, 5), a: .zeros(2, 5), b: .zeros(6, 2), scale: 1)
            var y = Matrix<Float>.zeros(3, 6)
            var workspace = Matrix<Float>.zeros(3, 2)  // T's shape n×r, not Tᵀ's r×n
            weights.forward(.zeros(3, 5), into: &y, workspace: &workspace)
        }
        let message = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(message.contains("workspace 3×2, need 2×3"))
    }

    @Test(.enabled(if: PackedLowRankProduct.isSupported))
    func packedKernelServesFloatRanksUpToItsMaximum() {
        let maximum = PackedLowRankProduct.maximumRank
        #expect(maximum == (PackedLowRankProduct.InstructionSet.best == .avx512 ? 64 : 16))
        var (weights, _) = makeCase(Float.self, d: 12, k: 10, r: 16, n: 1)
        #expect(weights.usesPackedKernel)
        weights.swapAdapter(a: .zeros(maximum, 10), b: .zeros(12, maximum), scale: 1)
        #expect(weights.usesPackedKernel)
        weights.swapAdapter(a: .zeros(maximum + 1, 10), b: .zeros(12, maximum + 1), scale: 1)
        #expect(!weights.usesPackedKernel)
        weights.swapAdapter(a: .zeros(4, 10), b: .zeros(12, 4), scale: 1)
        #expect(weights.usesPackedKernel)
        #expect(!makeCase(Double.self, d: 12, k: 10, r: 8, n: 1).weights.usesPackedKernel)
    }

    @Test func swapAdapterKeepsMergeState() {
        checkSwap(Float.self)
        checkSwap(Double.self)
    }
}

extension Matrix {
    /// The elements as an array of rows in Double, the form the naive references use.
    var elementsAsRows: [[Double]] { (0..<rows).map { row($0).map(Double.init) } }
}
