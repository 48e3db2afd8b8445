import LinearAlgebra
import Testing

@Suite("GEMM, GEMV and AXPY against naive loops")
struct GEMMTests {
    static let shapes: [(m: Int, n: Int, k: Int)] = [(1, 1, 1), (1, 7, 5), (6, 1, 3), (5, 4, 3), (17, 9, 33), (64, 48, 40)]

    func checkGEMM<T: TestScalar>(_: T.Type) {
        var generator = SeededGenerator(seed: 11)
        for (m, n, k) in Self.shapes {
            for transposeA in [Transpose.none, .transposed] {
                for transposeB in [Transpose.none, .transposed] {
                    for (alpha, beta) in [(T(1), T(0)), (T(-0.5), T(2))] {
                        let a = transposeA == .none
                            ? Matrix<T>.randomNormal(rows: m, columns: k, using: &generator)
                            : Matrix<T>.randomNormal(rows: k, columns: m, using: &generator)
                        let b = transposeB == .none
                            ? Matrix<T>.randomNormal(rows: k, columns: n, using: &generator)
                            : Matrix<T>.randomNormal(rows: n, columns: k, using: &generator)
                        var c = Matrix<T>.randomNormal(rows: m, columns: n, using: &generator)
                        let expected = naiveGEMM(a, b, transposeA: transposeA, transposeB: transposeB,
                                                 alpha: alpha, beta: beta, c: c)
                        Matrix.gemm(a, b, transposeA: transposeA, transposeB: transposeB,
                                    alpha: alpha, beta: beta, into: &c)
                        #expect(relativeError(c, expected) <= T.loose * 10,
                                "\(T.self) \(m)×\(n)×\(k) \(transposeA)/\(transposeB) α=\(alpha) β=\(beta)")
                    }
                }
            }
        }
    }

    @Test func gemmMatchesNaiveLoopFloat() { checkGEMM(Float.self) }
    @Test func gemmMatchesNaiveLoopDouble() { checkGEMM(Double.self) }

    @Test func betaZeroIgnoresNaNInOutput() {
        let a = Matrix<Double>([[1, 2], [3, 4]])
        var c = Matrix<Double>(rows: 2, columns: 2, repeating: .nan)
        Matrix.gemm(a, .identity(2), into: &c)
        #expect(c == a)
    }

    @Test func inPlaceGEMMKeepsItsStorage() {
        var generator = SeededGenerator(seed: 3)
        let a = Matrix<Float>.randomNormal(rows: 32, columns: 16, using: &generator)
        let b = Matrix<Float>.randomNormal(rows: 16, columns: 8, using: &generator)
        var c = Matrix<Float>.zeros(32, 8)
        let before = c.withUnsafeBufferPointer { $0.baseAddress }
        Matrix.gemm(a, b, into: &c)
        let after = c.withUnsafeBufferPointer { $0.baseAddress }
        #expect(before == after)
        #expect(relativeError(c, a * b) == 0)
    }

    @Test func productOperatorKnownAnswer() {
        let a = Matrix<Float>([[1, 2, 3], [4, 5, 6]])
        let b = Matrix<Float>([[7, 8], [9, 10], [11, 12]])
        #expect(a * b == Matrix([[58, 64], [139, 154]]))
    }

    func checkGEMV<T: TestScalar>(_: T.Type) {
        var generator = SeededGenerator(seed: 5)
        let a = Matrix<T>.randomNormal(rows: 7, columns: 4, using: &generator)
        for transpose in [Transpose.none, .transposed] {
            let (inputs, outputs) = transpose == .none ? (4, 7) : (7, 4)
            let x = Matrix<T>.randomNormal(rows: inputs, columns: 1, using: &generator)
            let y0 = Matrix<T>.randomNormal(rows: outputs, columns: 1, using: &generator)
            var y = y0.elements
            Matrix.gemv(a, x.elements, transpose: transpose, alpha: 2, beta: -1, into: &y)
            let expected = naiveGEMM(a, x, transposeA: transpose, transposeB: .none, alpha: 2, beta: -1, c: y0)
            #expect(relativeError(Matrix(rows: outputs, columns: 1, elements: y), expected) <= T.loose * 10)
            // The same product with the vectors held as one-row matrices.
            var yRow = Matrix(rows: 1, columns: outputs, elements: y0.elements)
            Matrix.gemv(a, x.transposed, transpose: transpose, alpha: 2, beta: -1, into: &yRow)
            #expect(relativeError(yRow.transposed, expected) <= T.loose * 10)
        }
    }

    @Test func gemvMatchesNaiveLoop() {
        checkGEMV(Float.self)
        checkGEMV(Double.self)
    }

    @Test func axpyAndElementwiseArithmetic() {
        var y = Matrix<Double>([[1, 2], [3, 4]])
        let x = Matrix<Double>([[10, 20], [30, 40]])
        y.axpy(0.5, x)
        #expect(y == Matrix([[6, 12], [18, 24]]))
        #expect(x + y == Matrix([[16, 32], [48, 64]]))
        #expect(x - y == Matrix([[4, 8], [12, 16]]))
        #expect(2 * y == y * 2)
        #expect(-y == Matrix([[-6, -12], [-18, -24]]))
        #expect(x.dot(Matrix.identity(2)) == 50)
    }
}
