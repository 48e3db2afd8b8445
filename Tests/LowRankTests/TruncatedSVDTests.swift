import LinearAlgebra
import LowRank
import Testing

@Suite struct TruncatedSVDTests {
    /// B = U_r Σ_r^{1/2}, A = Σ_r^{1/2} V_rᵀ: B·A is the best rank-r approximation, and its error is the tail.
    func checkFactors<T: TestScalar>(_: T.Type) throws {
        let m = try decayingMatrix(T.self, rows: 30, columns: 20, decay: 0.7, seed: 3)
        let svd = try m.singularValueDecomposition()
        for r in [1, 5, 20] {
            let (b, a) = try m.loraFactors(rank: r)
            #expect(b.rows == 30 && b.columns == r && a.rows == r && a.columns == 20)
            let best = try m.bestRankApproximation(rank: r)
            #expect((b * a - best).frobeniusNorm <= T.loose * m.frobeniusNorm)
            for j in 0..<r {
                // Column j of B is σ_j^{1/2}·u_j (up to the sign LAPACK picks, shared with A's row j).
                let root = svd.singularValues[j].squareRoot()
                for i in 0..<30 { #expect(abs(b[i, j] - root * svd.u[i, j]) <= T.loose) }
                for i in 0..<20 { #expect(abs(a[j, i] - root * svd.vt[j, i]) <= T.loose) }
            }
            let tail = svd.singularValues[r...].reduce(T(0)) { $0 + $1 * $1 }.squareRoot()
            #expect(abs((m - best).frobeniusNorm - tail) <= T.loose * m.frobeniusNorm)
        }
    }

    @Test func factorsFloat() throws { try checkFactors(Float.self) }
    @Test func factorsDouble() throws { try checkFactors(Double.self) }

    @Test func truncatedKeepsLeadingComponents() throws {
        let m = try decayingMatrix(Double.self, rows: 12, columns: 9, decay: 0.5, seed: 4)
        let t = try m.truncatedSVD(rank: 4)
        let full = try m.singularValueDecomposition()
        #expect(t.u.shapeDescription == "12×4" && t.vt.shapeDescription == "4×9")
        #expect(t.singularValues == Array(full.singularValues[0..<4]))
    }

    func checkBadInputs<T: MatrixScalar>(_: T.Type) {
        let m = Matrix<T>(rows: 6, columns: 4) { i, j in T(i + 2 * j) }
        #expect(throws: LowRankError.rankOutOfRange(rank: 0, shape: "6×4", maximum: 4)) { try m.truncatedSVD(rank: 0) }
        #expect(throws: LowRankError.rankOutOfRange(rank: 5, shape: "6×4", maximum: 4)) { try m.loraFactors(rank: 5) }
        var bad = m
        bad[2, 1] = .nan
        #expect(throws: LowRankError.nonFiniteMatrix(shape: "6×4")) { try bad.bestRankApproximation(rank: 2) }
        bad[2, 1] = .infinity
        #expect(throws: LowRankError.nonFiniteMatrix(shape: "6×4")) {
            try bad.truncatedSVD(rank: 2, method: .randomized(RandomizedSVDOptions()))
        }
        #expect(throws: LowRankError.emptyMatrix(shape: "0×4")) { try Matrix<T>.zeros(0, 4).truncatedSVD(rank: 1) }
        #expect("\(LowRankError.rankOutOfRange(rank: 5, shape: "6×4", maximum: 4))".contains("rank 5"))
    }

    @Test func badInputsFloat() { checkBadInputs(Float.self) }
    @Test func badInputsDouble() { checkBadInputs(Double.self) }
}
