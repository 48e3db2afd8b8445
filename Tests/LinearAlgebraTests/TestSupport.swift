import LinearAlgebra

/// Naive triple-loop `α·op(A)·op(B) + β·C`: the reference GEMM checks against.
func naiveGEMM<T: MatrixScalar>(
    _ a: Matrix<T>, _ b: Matrix<T>, transposeA: Transpose, transposeB: Transpose,
    alpha: T, beta: T, c: Matrix<T>
) -> Matrix<T> {
    let opA = transposeA == .none ? a : a.transposed
    let opB = transposeB == .none ? b : b.transposed
    return Matrix(rows: opA.rows, columns: opB.columns) { i, j in
        var sum: T = 0
        for p in 0..<opA.columns { sum += opA[i, p] * opB[p, j] }
        return alpha * sum + beta * c[i, j]
    }
}

/// `‖x − y‖_F / ‖y‖_F`.
func relativeError<T: MatrixScalar>(_ x: Matrix<T>, _ y: Matrix<T>) -> T {
    (x - y).frobeniusNorm / y.frobeniusNorm
}

/// Test tolerances for each precision.
protocol Tolerances { static var loose: Self { get } }
extension Float: Tolerances { static var loose: Float { 1e-5 } }
extension Double: Tolerances { static var loose: Double { 1e-12 } }

typealias TestScalar = MatrixScalar & Tolerances
