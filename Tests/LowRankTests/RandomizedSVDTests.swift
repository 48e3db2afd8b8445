import LinearAlgebra
import LowRank
import Testing

@Suite struct RandomizedSVDTests {
    /// On a decaying spectrum the randomized rank-r approximation is within 1% of the optimal error.
    func checkNearOptimal<T: TestScalar>(_: T.Type) throws {
        let m = try decayingMatrix(T.self, rows: 120, columns: 90, decay: 0.9, seed: 5)
        let exact = try m.singularValueDecomposition()
        for r in [5, 10, 20] {
            let approx = try m.randomizedSVD(rank: r, options: RandomizedSVDOptions(seed: 7))
            #expect(approx.u.shapeDescription == "120×\(r)" && approx.vt.shapeDescription == "\(r)×90")
            let optimal = exact.singularValues[r...].reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
            let error = Double((m - approx.reconstructed()).frobeniusNorm)
            #expect(error <= 1.01 * optimal)
            for i in 0..<r {
                #expect(isClose(Double(approx.singularValues[i]), Double(exact.singularValues[i]), relative: 1e-3))
            }
            // U has orthonormal columns.
            #expect((approx.u.transposed * approx.u - .identity(r)).frobeniusNorm <= T.loose * 10)
        }
    }

    @Test func nearOptimalFloat() throws { try checkNearOptimal(Float.self) }
    @Test func nearOptimalDouble() throws { try checkNearOptimal(Double.self) }

    /// Power iterations matter on a slowly decaying spectrum: in the spectral norm (Halko et al.'s
    /// measure, `‖M − M̃_r‖₂ / σ_{r+1} ≥ 1`) two iterations halve the distance to optimal left by none.
    @Test func powerIterationsImproveSlowDecay() throws {
        let m = try decayingMatrix(Double.self, rows: 100, columns: 100, decay: 0.98, seed: 6)
        let optimal = try m.singularValueDecomposition().singularValues[10]
        func error(_ q: Int) throws -> Double {
            let svd = try m.randomizedSVD(rank: 10, options: RandomizedSVDOptions(oversampling: 2, powerIterations: q, seed: 1))
            return try (m - svd.reconstructed()).spectralNorm() / optimal
        }
        let (none, two) = (try error(0), try error(2))
        #expect(none > 1.1 && two - 1 < 0.6 * (none - 1) && two >= 1 - 1e-12, "‖M − M̃‖₂ / σ₁₁: q = 0 \(none), q = 2 \(two)")
    }

    @Test func seededAndReproducible() throws {
        let m = try decayingMatrix(Float.self, rows: 40, columns: 30, decay: 0.8, seed: 8)
        let a = try m.randomizedSVD(rank: 5, options: RandomizedSVDOptions(seed: 11))
        let b = try m.randomizedSVD(rank: 5, options: RandomizedSVDOptions(seed: 11))
        #expect(a.u == b.u && a.singularValues == b.singularValues && a.vt == b.vt)
    }

    @Test func sketchWiderThanMatrixIsExact() throws {
        let m = try decayingMatrix(Double.self, rows: 8, columns: 6, decay: 0.5, seed: 9)
        let svd = try m.randomizedSVD(rank: 6, options: RandomizedSVDOptions(oversampling: 10))
        #expect((svd.reconstructed() - m).frobeniusNorm <= 1e-12)
    }

    @Test func badOptions() throws {
        let m = try decayingMatrix(Double.self, rows: 8, columns: 6, decay: 0.5, seed: 9)
        #expect(throws: LowRankError.negativeCount(name: "oversampling", value: -1)) {
            try m.randomizedSVD(rank: 2, options: RandomizedSVDOptions(oversampling: -1))
        }
        #expect(throws: LowRankError.negativeCount(name: "power iterations", value: -2)) {
            try m.randomizedSVD(rank: 2, options: RandomizedSVDOptions(powerIterations: -2))
        }
        #expect(throws: LowRankError.rankOutOfRange(rank: 7, shape: "8×6", maximum: 6)) {
            try m.randomizedSVD(rank: 7)
        }
    }
}
