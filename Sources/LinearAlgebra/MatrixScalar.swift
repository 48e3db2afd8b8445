internal import CBLASLAPACK
import Foundation

/// Whether a BLAS operand is used as stored or transposed: `op(A) = A` or `op(A) = Aᵀ`.
public enum Transpose: Sendable, Hashable {
    case none
    case transposed
}

/// A real scalar that a ``Matrix`` holds: `Float` or `Double`.
///
/// The conformance carries the BLAS and LAPACK kernels for the type (the `s…` routines for
/// `Float`, the `d…` routines for `Double`), so generic code dispatches with no run-time test.
/// Requirements whose names start with an underscore are public only because protocol
/// requirements must be; they take raw pointers in column-major or row-major layout as stated
/// and are no stable API. Use ``Matrix``'s methods instead.
public protocol MatrixScalar: BinaryFloatingPoint, Sendable, Codable
where RawSignificand: FixedWidthInteger {
    /// The LAPACK/BLAS precision letter: `"s"` or `"d"`.
    static var _precisionPrefix: String { get }

    /// `eˣ`.
    static func exp(_ x: Self) -> Self
    /// Natural logarithm.
    static func log(_ x: Self) -> Self
    /// Hyperbolic tangent.
    static func tanh(_ x: Self) -> Self
    /// Sine (radians).
    static func sin(_ x: Self) -> Self
    /// Cosine (radians).
    static func cos(_ x: Self) -> Self
    /// The error function.
    static func erf(_ x: Self) -> Self

    /// Row-major `C = α·op(A)·op(B) + β·C`, with `op(A): m×k`, `op(B): k×n`, `C: m×n`.
    static func _gemm(
        _ transposeA: Transpose, _ transposeB: Transpose, m: Int, n: Int, k: Int,
        alpha: Self, a: UnsafePointer<Self>, lda: Int, b: UnsafePointer<Self>, ldb: Int,
        beta: Self, c: UnsafeMutablePointer<Self>, ldc: Int)
    /// Row-major `y = α·op(A)·x + β·y`, with `A: m×n`.
    static func _gemv(
        _ transpose: Transpose, m: Int, n: Int, alpha: Self, a: UnsafePointer<Self>, lda: Int,
        x: UnsafePointer<Self>, beta: Self, y: UnsafeMutablePointer<Self>)
    /// `y = α·x + y` over `n` contiguous elements.
    static func _axpy(n: Int, alpha: Self, x: UnsafePointer<Self>, y: UnsafeMutablePointer<Self>)
    /// `√(Σ xᵢ²)` over `n` contiguous elements, without overflow.
    static func _nrm2(n: Int, x: UnsafePointer<Self>) -> Self
    /// `Σ xᵢ·yᵢ` over `n` contiguous elements.
    static func _dot(n: Int, x: UnsafePointer<Self>, y: UnsafePointer<Self>) -> Self

    /// Column-major divide-and-conquer SVD of `a` (m×n, destroyed): `?gesdd` with job `S` when
    /// `wantVectors`, else `N`. Returns LAPACK's `info`.
    static func _gesdd(
        wantVectors: Bool, m: Int, n: Int, a: UnsafeMutablePointer<Self>, lda: Int,
        s: UnsafeMutablePointer<Self>, u: UnsafeMutablePointer<Self>, ldu: Int,
        vt: UnsafeMutablePointer<Self>, ldvt: Int) -> Int32
    /// Column-major QR-iteration SVD (`?gesvd`), the fallback when `?gesdd` does not converge.
    static func _gesvd(
        wantVectors: Bool, m: Int, n: Int, a: UnsafeMutablePointer<Self>, lda: Int,
        s: UnsafeMutablePointer<Self>, u: UnsafeMutablePointer<Self>, ldu: Int,
        vt: UnsafeMutablePointer<Self>, ldvt: Int, superb: UnsafeMutablePointer<Self>) -> Int32
    /// Row-major Householder QR factorisation (`?geqrf`) of `a` (m×n) in place.
    static func _geqrf(
        m: Int, n: Int, a: UnsafeMutablePointer<Self>, lda: Int, tau: UnsafeMutablePointer<Self>
    ) -> Int32
    /// Row-major generation of the first `n` columns of Q from `?geqrf`'s reflectors (`?orgqr`).
    static func _orgqr(
        m: Int, n: Int, k: Int, a: UnsafeMutablePointer<Self>, lda: Int, tau: UnsafePointer<Self>
    ) -> Int32
}

@inline(__always)
private func cblasTranspose(_ t: Transpose) -> CBLAS_TRANSPOSE {
    t == .none ? CblasNoTrans : CblasTrans
}

@inline(__always)
private func jobCharacter(_ wantVectors: Bool) -> CChar {
    CChar(UInt8(ascii: wantVectors ? "S" : "N"))
}

extension Float: MatrixScalar {
    public static var _precisionPrefix: String { "s" }
    public static func exp(_ x: Float) -> Float { Foundation.exp(x) }
    public static func log(_ x: Float) -> Float { Foundation.log(x) }
    public static func tanh(_ x: Float) -> Float { Foundation.tanh(x) }
    public static func sin(_ x: Float) -> Float { Foundation.sin(x) }
    public static func cos(_ x: Float) -> Float { Foundation.cos(x) }
    public static func erf(_ x: Float) -> Float { Foundation.erf(x) }

    public static func _gemm(
        _ transposeA: Transpose, _ transposeB: Transpose, m: Int, n: Int, k: Int,
        alpha: Float, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        cblas_sgemm(
            CblasRowMajor, cblasTranspose(transposeA), cblasTranspose(transposeB),
            Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    public static func _gemv(
        _ transpose: Transpose, m: Int, n: Int, alpha: Float, a: UnsafePointer<Float>, lda: Int,
        x: UnsafePointer<Float>, beta: Float, y: UnsafeMutablePointer<Float>
    ) {
        cblas_sgemv(
            CblasRowMajor, cblasTranspose(transpose), Int32(m), Int32(n), alpha, a, Int32(lda),
            x, 1, beta, y, 1)
    }

    public static func _axpy(n: Int, alpha: Float, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>) {
        cblas_saxpy(Int32(n), alpha, x, 1, y, 1)
    }

    public static func _nrm2(n: Int, x: UnsafePointer<Float>) -> Float { cblas_snrm2(Int32(n), x, 1) }

    public static func _dot(n: Int, x: UnsafePointer<Float>, y: UnsafePointer<Float>) -> Float {
        cblas_sdot(Int32(n), x, 1, y, 1)
    }

    public static func _gesdd(
        wantVectors: Bool, m: Int, n: Int, a: UnsafeMutablePointer<Float>, lda: Int,
        s: UnsafeMutablePointer<Float>, u: UnsafeMutablePointer<Float>, ldu: Int,
        vt: UnsafeMutablePointer<Float>, ldvt: Int
    ) -> Int32 {
        LAPACKE_sgesdd(
            LAPACK_COL_MAJOR, jobCharacter(wantVectors), Int32(m), Int32(n), a, Int32(lda), s,
            u, Int32(ldu), vt, Int32(ldvt))
    }

    public static func _gesvd(
        wantVectors: Bool, m: Int, n: Int, a: UnsafeMutablePointer<Float>, lda: Int,
        s: UnsafeMutablePointer<Float>, u: UnsafeMutablePointer<Float>, ldu: Int,
        vt: UnsafeMutablePointer<Float>, ldvt: Int, superb: UnsafeMutablePointer<Float>
    ) -> Int32 {
        let job = jobCharacter(wantVectors)
        return LAPACKE_sgesvd(
            LAPACK_COL_MAJOR, job, job, Int32(m), Int32(n), a, Int32(lda), s, u, Int32(ldu), vt,
            Int32(ldvt), superb)
    }

    public static func _geqrf(
        m: Int, n: Int, a: UnsafeMutablePointer<Float>, lda: Int, tau: UnsafeMutablePointer<Float>
    ) -> Int32 {
        LAPACKE_sgeqrf(LAPACK_ROW_MAJOR, Int32(m), Int32(n), a, Int32(lda), tau)
    }

    public static func _orgqr(
        m: Int, n: Int, k: Int, a: UnsafeMutablePointer<Float>, lda: Int, tau: UnsafePointer<Float>
    ) -> Int32 {
        LAPACKE_sorgqr(LAPACK_ROW_MAJOR, Int32(m), Int32(n), Int32(k), a, Int32(lda), tau)
    }
}

extension Double: MatrixScalar {
    public static var _precisionPrefix: String { "d" }
    public static func exp(_ x: Double) -> Double { Foundation.exp(x) }
    public static func log(_ x: Double) -> Double { Foundation.log(x) }
    public static func tanh(_ x: Double) -> Double { Foundation.tanh(x) }
    public static func sin(_ x: Double) -> Double { Foundation.sin(x) }
    public static func cos(_ x: Double) -> Double { Foundation.cos(x) }
    public static func erf(_ x: Double) -> Double { Foundation.erf(x) }

    public static func _gemm(
        _ transposeA: Transpose, _ transposeB: Transpose, m: Int, n: Int, k: Int,
        alpha: Double, a: UnsafePointer<Double>, lda: Int, b: UnsafePointer<Double>, ldb: Int,
        beta: Double, c: UnsafeMutablePointer<Double>, ldc: Int
    ) {
        cblas_dgemm(
            CblasRowMajor, cblasTranspose(transposeA), cblasTranspose(transposeB),
            Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    public static func _gemv(
        _ transpose: Transpose, m: Int, n: Int, alpha: Double, a: UnsafePointer<Double>, lda: Int,
        x: UnsafePointer<Double>, beta: Double, y: UnsafeMutablePointer<Double>
    ) {
        cblas_dgemv(
            CblasRowMajor, cblasTranspose(transpose), Int32(m), Int32(n), alpha, a, Int32(lda),
            x, 1, beta, y, 1)
    }

    public static func _axpy(n: Int, alpha: Double, x: UnsafePointer<Double>, y: UnsafeMutablePointer<Double>) {
        cblas_daxpy(Int32(n), alpha, x, 1, y, 1)
    }

    public static func _nrm2(n: Int, x: UnsafePointer<Double>) -> Double { cblas_dnrm2(Int32(n), x, 1) }

    public static func _dot(n: Int, x: UnsafePointer<Double>, y: UnsafePointer<Double>) -> Double {
        cblas_ddot(Int32(n), x, 1, y, 1)
    }

    public static func _gesdd(
        wantVectors: Bool, m: Int, n: Int, a: UnsafeMutablePointer<Double>, lda: Int,
        s: UnsafeMutablePointer<Double>, u: UnsafeMutablePointer<Double>, ldu: Int,
        vt: UnsafeMutablePointer<Double>, ldvt: Int
    ) -> Int32 {
        LAPACKE_dgesdd(
            LAPACK_COL_MAJOR, jobCharacter(wantVectors), Int32(m), Int32(n), a, Int32(lda), s,
            u, Int32(ldu), vt, Int32(ldvt))
    }

    public static func _gesvd(
        wantVectors: Bool, m: Int, n: Int, a: UnsafeMutablePointer<Double>, lda: Int,
        s: UnsafeMutablePointer<Double>, u: UnsafeMutablePointer<Double>, ldu: Int,
        vt: UnsafeMutablePointer<Double>, ldvt: Int, superb: UnsafeMutablePointer<Double>
    ) -> Int32 {
        let job = jobCharacter(wantVectors)
        return LAPACKE_dgesvd(
            LAPACK_COL_MAJOR, job, job, Int32(m), Int32(n), a, Int32(lda), s, u, Int32(ldu), vt,
            Int32(ldvt), superb)
    }

    public static func _geqrf(
        m: Int, n: Int, a: UnsafeMutablePointer<Double>, lda: Int, tau: UnsafeMutablePointer<Double>
    ) -> Int32 {
        LAPACKE_dgeqrf(LAPACK_ROW_MAJOR, Int32(m), Int32(n), a, Int32(lda), tau)
    }

    public static func _orgqr(
        m: Int, n: Int, k: Int, a: UnsafeMutablePointer<Double>, lda: Int, tau: UnsafePointer<Double>
    ) -> Int32 {
        LAPACKE_dorgqr(LAPACK_ROW_MAJOR, Int32(m), Int32(n), Int32(k), a, Int32(lda), tau)
    }
}
