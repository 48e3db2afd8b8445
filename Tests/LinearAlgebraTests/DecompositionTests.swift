import LinearAlgebra
import Testing

@Suite("SVD and QR")
struct DecompositionTests {
    static let shapes = [(1, 1), (1, 6), (6, 1), (8, 8), (40, 13), (13, 40), (120, 90)]

    func checkSVD<T: TestScalar>(_: T.Type, algorithm: SVDAlgorithm) throws {
        var generator = SeededGenerator(seed: 21)
        for (m, n) in Self.shapes {
            let a = Matrix<T>.randomNormal(rows: m, columns: n, using: &generator)
            let copy = a
            let svd = try a.singularValueDecomposition(algorithm: algorithm)
            let p = min(m, n)
            #expect(a == copy, "the input was modified")
            #expect(svd.u.rows == m && svd.u.columns == p && svd.vt.rows == p && svd.vt.columns == n)
            #expect(relativeError(svd.reconstructed(), a) <= T.loose, "\(T.self) \(m)×\(n)")
            #expect((svd.u.transposed * svd.u - .identity(p)).frobeniusNorm <= T.loose * T(p))
            #expect((svd.vt * svd.vt.transposed - .identity(p)).frobeniusNorm <= T.loose * T(p))
            #expect(zip(svd.singularValues, svd.singularValues.dropFirst()).allSatisfy { $0 >= $1 })
            #expect(svd.singularValues.allSatisfy { $0 >= 0 })
            let valuesOnly = try a.singularValues(algorithm: algorithm)
            for (x, y) in zip(valuesOnly, svd.singularValues) {
                #expect(abs(x - y) <= T.loose * svd.singularValues[0])
            }
        }
    }

    @Test func svdReconstructsFloat() throws {
        try checkSVD(Float.self, algorithm: .divideAndConquer)
        try checkSVD(Float.self, algorithm: .qrIteration)
    }

    @Test func svdReconstructsDouble() throws {
        try checkSVD(Double.self, algorithm: .divideAndConquer)
        try checkSVD(Double.self, algorithm: .qrIteration)
    }

    @Test func svdKnownAnswer() throws {
        // [[3, 2, 2], [2, 3, −2]] has singular values 5 and 3.
        let a = Matrix<Double>([[3, 2, 2], [2, 3, -2]])
        let s = try a.singularValues()
        #expect(abs(s[0] - 5) < 1e-12 && abs(s[1] - 3) < 1e-12)
        let svd = try a.singularValueDecomposition()
        // The first right singular vector is ±(1, 1, 0)/√2.
        #expect(abs(abs(svd.vt[0, 0]) - 0.5.squareRoot()) < 1e-12 && abs(svd.vt[0, 2]) < 1e-12)
    }

    @Test func truncatedReconstructionIsEckartYoung() throws {
        var generator = SeededGenerator(seed: 4)
        let a = Matrix<Double>.randomNormal(rows: 30, columns: 20, using: &generator)
        let svd = try a.singularValueDecomposition()
        let error = (a - svd.reconstructed(rank: 5)).frobeniusNorm
        let tail = svd.singularValues[5...].reduce(0) { $0 + $1 * $1 }.squareRoot()
        #expect(abs(error - tail) / tail < 1e-12)
    }

    @Test func nonFiniteInputThrowsBeforeLAPACK() {
        var a = Matrix<Float>.identity(4)
        a[2, 1] = .nan
        #expect(throws: LAPACKError.nonFiniteInput(routine: "sgesdd")) { try a.singularValueDecomposition() }
        #expect(throws: LAPACKError.nonFiniteInput(routine: "sgesvd")) { try a.singularValues(algorithm: .qrIteration) }
        var b = Matrix<Double>.identity(3)
        b[0, 0] = .infinity
        #expect(throws: LAPACKError.nonFiniteInput(routine: "dgeqrf")) { try b.qrDecomposition() }
        #expect(throws: LAPACKError.nonFiniteInput(routine: "dgesdd")) { try b.spectralNorm() }
    }

    @Test func errorsNameTheRoutineAndCode() {
        #expect(LAPACKError.illegalArgument(routine: "dgesdd", info: -4).description.contains("argument 4"))
        #expect(LAPACKError.noConvergence(routine: "sgesvd", info: 3).description.contains("sgesvd"))
    }

    func checkQR<T: TestScalar>(_: T.Type) throws {
        var generator = SeededGenerator(seed: 31)
        for (m, n) in Self.shapes {
            let a = Matrix<T>.randomNormal(rows: m, columns: n, using: &generator)
            let copy = a
            let (q, r) = try a.qrDecomposition()
            let p = min(m, n)
            #expect(a == copy)
            #expect(q.rows == m && q.columns == p && r.rows == p && r.columns == n)
            #expect(relativeError(q * r, a) <= T.loose * 10, "\(T.self) \(m)×\(n)")
            #expect((q.transposed * q - .identity(p)).frobeniusNorm <= T.loose * T(p))
            for i in 0..<p { for j in 0..<min(i, n) { #expect(r[i, j] == 0) } }
        }
    }

    @Test func qrReconstructsAndIsOrthonormal() throws {
        try checkQR(Float.self)
        try checkQR(Double.self)
    }
}
