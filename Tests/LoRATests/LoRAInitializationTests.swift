import NN
import LinearAlgebra
import LoRA
import Testing

@Suite("LoRA initialisation schemes")
struct LoRAInitializationTests {
    func base<T: MatrixScalar>(_: T.Type) -> Matrix<T> {
        var generator = SeededGenerator(seed: 31)
        return .randomNormal(rows: 24, columns: 16, using: &generator)
    }

    func checkZeroUpdateSchemes<T: MatrixScalar>(_: T.Type) throws {
        var generator = SeededGenerator(seed: 32)
        let kaiming = try LoRAInitialization.kaimingUniform.makeWeights(base: base(T.self), rank: 4, scale: 2, using: &generator)
        #expect(kaiming.b == .zeros(24, 4))
        let bound = 1 / T(16).squareRoot()
        #expect(kaiming.a.elements.allSatisfy { abs($0) <= bound })
        #expect(kaiming.a.elements.contains { abs($0) > bound / 2 })
        #expect(kaiming.base == base(T.self))
        let gaussian = try LoRAInitialization.gaussian.makeWeights(base: base(T.self), rank: 4, scale: 2, using: &generator)
        #expect(gaussian.b == .zeros(24, 4))
        // 64 samples of N(0, 1/16): the sample standard deviation is within 30% of 1/4.
        let deviation = (gaussian.a.elements.map { Double($0 * $0) }.reduce(0, +) / 64).squareRoot()
        #expect(abs(deviation - 0.25) < 0.075)
        let random = try LoRAInitialization.random.makeWeights(base: base(T.self), rank: 4, scale: 2, using: &generator)
        #expect(random.b.frobeniusNorm > 0)
    }

    @Test func zeroUpdateSchemes() throws {
        try checkZeroUpdateSchemes(Float.self)
        try checkZeroUpdateSchemes(Double.self)
    }

    func checkPiSSA<T: MatrixScalar>(_: T.Type, tolerance: T) throws {
        var generator = SeededGenerator(seed: 33)
        let w = base(T.self)
        let weights = try LoRAInitialization.pissa.makeWeights(base: w, rank: 3, scale: 0.5, using: &generator)
        // The output is unchanged: W_res + s·B·A = W.
        let x = Matrix<T>.randomNormal(rows: 5, columns: 16, using: &generator)
        let expected = x * w.transposed
        #expect(GradientCheck.relativeError(weights.forward(x), expected) < tolerance)
        // s·B·A is the best rank-3 approximation, and the residual holds the rest of the spectrum.
        let svd = try w.singularValueDecomposition()
        #expect(GradientCheck.relativeError(weights.b * weights.a * 0.5, svd.reconstructed(rank: 3)) < tolerance)
        let residualValues = try weights.base.singularValues()
        #expect(abs(residualValues[0] - svd.singularValues[3]) / svd.singularValues[3] < tolerance)
    }

    @Test func pissaKeepsTheOutputAndTakesTheTopTriplets() throws {
        try checkPiSSA(Float.self, tolerance: 1e-5)
        try checkPiSSA(Double.self, tolerance: 1e-12)
    }

    /// OLoRA: `B` has orthonormal columns, `A` is upper triangular, `B·A = Q_{:, :r}·R_{:r, :}` of
    /// `W = QR`, and the output is unchanged (tall and wide `W`).
    func checkOLoRA<T: MatrixScalar>(_: T.Type, tolerance: T) throws {
        var generator = SeededGenerator(seed: 35)
        for w in [base(T.self), base(T.self).transposed] {
            let weights = try LoRAInitialization.olora.makeWeights(base: w, rank: 3, scale: 0.5, using: &generator)
            let x = Matrix<T>.randomNormal(rows: 5, columns: w.columns, using: &generator)
            #expect(GradientCheck.relativeError(weights.forward(x), x * w.transposed) < tolerance)
            #expect(GradientCheck.relativeError(weights.b.transposed * weights.b, .identity(3)) < tolerance)
            #expect((0..<3).allSatisfy { i in (0..<i).allSatisfy { weights.a[i, $0] == 0 } })
            let (q, r) = try w.qrDecomposition()
            #expect(GradientCheck.relativeError(weights.b * weights.a, q[columns: 0..<3] * r[rows: 0..<3]) < tolerance)
        }
        #expect(throws: LoRAInitializationError.rankExceedsMatrix(scheme: "OLoRA", rank: 17, shape: "24×16")) {
            try LoRAInitialization.olora.makeWeights(base: base(T.self), rank: 17, scale: 1, using: &generator)
        }
    }

    @Test func oloraKeepsTheOutputFromTheQRFactors() throws {
        try checkOLoRA(Float.self, tolerance: 1e-5)
        try checkOLoRA(Double.self, tolerance: 1e-12)
    }

    @Test func unsupportedSchemesAndRanksThrow() {
        var generator = SeededGenerator(seed: 34)
        #expect(throws: LoRAInitializationError.unsupported(scheme: "loftq")) {
            try LoRAInitialization.other("loftq").makeWeights(base: base(Float.self), rank: 2, scale: 1, using: &generator)
        }
        #expect(throws: LoRAInitializationError.rankExceedsMatrix(scheme: "PiSSA", rank: 17, shape: "24×16")) {
            try LoRAInitialization.pissa.makeWeights(base: base(Float.self), rank: 17, scale: 1, using: &generator)
        }
    }
}
