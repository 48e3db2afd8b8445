internal import CBLASLAPACK
public import RealModule

/// Whether a BLAS operand is used as stored or transposed: `op(A) = A` or `op(A) = Aᵀ`.
public enum Transpose: Sendable, Hashable {
    case none
    case transposed
}

/// A real scalar that a ``Matrix`` holds: `Float` or `Double`.
///
/// It refines swift-numerics' `Real`, so generic code has `Scalar.exp`, `.log`, `.erf`, … from
/// the same declarations an app importing `Numerics` sees (no second, ambiguous set). The BLAS
/// and LAPACK kernels of each type (the `s…` routines for `Float`, the `d…` ones for `Double`)
/// are chosen inside LinearAlgebra by the type, a test that specialisation removes; other
/// conformances are not supported and trap when they reach a kernel.
public protocol MatrixScalar: Real, BinaryFloatingPoint, Sendable, Codable where RawSignificand: FixedWidthInteger {}

extension Float: MatrixScalar {}
extension Double: MatrixScalar {}

@inline(__always)
private func cblasTranspose(_ t: Transpose) -> CBLAS_TRANSPOSE {
    t == .none ? CblasNoTrans : CblasTrans
}

@inline(__always)
private func jobCharacter(_ wantVectors: Bool) -> CChar {
    CChar(UInt8(ascii: wantVectors ? "S" : "N"))
}

@inline(__always)
private func cast<T>(_ p: UnsafePointer<some Any>, to _: T.Type) -> UnsafePointer<T> {
    UnsafeRawPointer(p).assumingMemoryBound(to: T.self)
}

@inline(__always)
private func cast<T>(_ p: UnsafeMutablePointer<some Any>, to _: T.Type) -> UnsafeMutablePointer<T> {
    UnsafeMutableRawPointer(p).assumingMemoryBound(to: T.self)
}

/// The BLAS and LAPACK routines for `Self`, on raw pointers, for LinearAlgebra's own use.
extension MatrixScalar {
    /// Whether the kernels are the single-precision (`s…`) ones; traps for other types.
    @inline(__always)
    static var isSinglePrecision: Bool {
        if Self.self == Float.self { return true }
        precondition(Self.self == Double.self, "MatrixScalar: \(Self.self) has no BLAS kernels (Float and Double do)")
        return false
    }

    /// The LAPACK precision letter, `"s"` or `"d"`, for routine names in errors.
    static var precisionLetter: String { isSinglePrecision ? "s" : "d" }

    /// Row-major `C = α·op(A)·op(B) + β·C`, with `op(A): m×k`, `op(B): k×n`, `C: m×n`.
    @inline(__always)
    static func gemm(
        _ transposeA: Transpose, _ transposeB: Transpose, m: Int, n: Int, k: Int,
        alpha: Self, a: UnsafePointer<Self>, lda: Int, b: UnsafePointer<Self>, ldb: Int,
        beta: Self, c: UnsafeMutablePointer<Self>, ldc: Int
    ) {
        let (ta, tb) = (cblasTranspose(transposeA), cblasTranspose(transposeB))
        if isSinglePrecision {
            cblas_sgemm(
                CblasRowMajor, ta, tb, Int32(m), Int32(n), Int32(k), Float(alpha), cast(a, to: Float.self), Int32(lda),
                cast(b, to: Float.self), Int32(ldb), Float(beta), cast(c, to: Float.self), Int32(ldc))
        } else {
            cblas_dgemm(
                CblasRowMajor, ta, tb, Int32(m), Int32(n), Int32(k), Double(alpha), cast(a, to: Double.self), Int32(lda),
                cast(b, to: Double.self), Int32(ldb), Double(beta), cast(c, to: Double.self), Int32(ldc))
        }
    }

    /// Row-major `y = α·op(A)·x + β·y`, with `A: m×n` (row stride `lda`) and unit-stride vectors.
    @inline(__always)
    static func gemv(
        _ transpose: Transpose, m: Int, n: Int, alpha: Self, a: UnsafePointer<Self>, lda: Int,
        x: UnsafePointer<Self>, beta: Self, y: UnsafeMutablePointer<Self>
    ) {
        if isSinglePrecision {
            cblas_sgemv(
                CblasRowMajor, cblasTranspose(transpose), Int32(m), Int32(n), Float(alpha), cast(a, to: Float.self),
                Int32(lda), cast(x, to: Float.self), 1, Float(beta), cast(y, to: Float.self), 1)
        } else {
            cblas_dgemv(
                CblasRowMajor, cblasTranspose(transpose), Int32(m), Int32(n), Double(alpha), cast(a, to: Double.self),
                Int32(lda), cast(x, to: Double.self), 1, Double(beta), cast(y, to: Double.self), 1)
        }
    }

    /// `y = α·x + y` over `n` contiguous elements.
    static func axpy(n: Int, alpha: Self, x: UnsafePointer<Self>, y: UnsafeMutablePointer<Self>) {
        if isSinglePrecision {
            cblas_saxpy(Int32(n), Float(alpha), cast(x, to: Float.self), 1, cast(y, to: Float.self), 1)
        } else {
            cblas_daxpy(Int32(n), Double(alpha), cast(x, to: Double.self), 1, cast(y, to: Double.self), 1)
        }
    }

    /// `√(Σ xᵢ²)` over `n` contiguous elements, without overflow.
    static func nrm2(n: Int, x: UnsafePointer<Self>) -> Self {
        isSinglePrecision
            ? Self(cblas_snrm2(Int32(n), cast(x, to: Float.self), 1))
            : Self(cblas_dnrm2(Int32(n), cast(x, to: Double.self), 1))
    }

    /// `Σ xᵢ·yᵢ` over `n` contiguous elements.
    static func dot(n: Int, x: UnsafePointer<Self>, y: UnsafePointer<Self>) -> Self {
        isSinglePrecision
            ? Self(cblas_sdot(Int32(n), cast(x, to: Float.self), 1, cast(y, to: Float.self), 1))
            : Self(cblas_ddot(Int32(n), cast(x, to: Double.self), 1, cast(y, to: Double.self), 1))
    }

    /// Column-major divide-and-conquer SVD of `a` (m×n, destroyed): `?gesdd` with job `S` when
    /// `wantVectors`, else `N`. Returns LAPACK's `info`.
    static func gesdd(
        wantVectors: Bool, m: Int, n: Int, a: UnsafeMutablePointer<Self>, lda: Int,
        s: UnsafeMutablePointer<Self>, u: UnsafeMutablePointer<Self>, ldu: Int,
        vt: UnsafeMutablePointer<Self>, ldvt: Int
    ) -> Int32 {
        let job = jobCharacter(wantVectors)
        return isSinglePrecision
            ? LAPACKE_sgesdd(
                LAPACK_COL_MAJOR, job, Int32(m), Int32(n), cast(a, to: Float.self), Int32(lda), cast(s, to: Float.self),
                cast(u, to: Float.self), Int32(ldu), cast(vt, to: Float.self), Int32(ldvt))
            : LAPACKE_dgesdd(
                LAPACK_COL_MAJOR, job, Int32(m), Int32(n), cast(a, to: Double.self), Int32(lda), cast(s, to: Double.self),
                cast(u, to: Double.self), Int32(ldu), cast(vt, to: Double.self), Int32(ldvt))
    }

    /// Column-major QR-iteration SVD (`?gesvd`), the fallback when `?gesdd` does not converge.
    static func gesvd(
        wantVectors: Bool, m: Int, n: Int, a: UnsafeMutablePointer<Self>, lda: Int,
        s: UnsafeMutablePointer<Self>, u: UnsafeMutablePointer<Self>, ldu: Int,
        vt: UnsafeMutablePointer<Self>, ldvt: Int, superb: UnsafeMutablePointer<Self>
    ) -> Int32 {
        let job = jobCharacter(wantVectors)
        return isSinglePrecision
            ? LAPACKE_sgesvd(
                LAPACK_COL_MAJOR, job, job, Int32(m), Int32(n), cast(a, to: Float.self), Int32(lda),
                cast(s, to: Float.self), cast(u, to: Float.self), Int32(ldu), cast(vt, to: Float.self), Int32(ldvt),
                cast(superb, to: Float.self))
            : LAPACKE_dgesvd(
                LAPACK_COL_MAJOR, job, job, Int32(m), Int32(n), cast(a, to: Double.self), Int32(lda),
                cast(s, to: Double.self), cast(u, to: Double.self), Int32(ldu), cast(vt, to: Double.self), Int32(ldvt),
                cast(superb, to: Double.self))
    }

    /// Row-major Householder QR factorisation (`?geqrf`) of `a` (m×n) in place.
    static func geqrf(m: Int, n: Int, a: UnsafeMutablePointer<Self>, lda: Int, tau: UnsafeMutablePointer<Self>) -> Int32 {
        isSinglePrecision
            ? LAPACKE_sgeqrf(LAPACK_ROW_MAJOR, Int32(m), Int32(n), cast(a, to: Float.self), Int32(lda), cast(tau, to: Float.self))
            : LAPACKE_dgeqrf(LAPACK_ROW_MAJOR, Int32(m), Int32(n), cast(a, to: Double.self), Int32(lda), cast(tau, to: Double.self))
    }

    /// Row-major generation of the first `n` columns of Q from `?geqrf`'s reflectors (`?orgqr`).
    static func orgqr(m: Int, n: Int, k: Int, a: UnsafeMutablePointer<Self>, lda: Int, tau: UnsafePointer<Self>) -> Int32 {
        isSinglePrecision
            ? LAPACKE_sorgqr(
                LAPACK_ROW_MAJOR, Int32(m), Int32(n), Int32(k), cast(a, to: Float.self), Int32(lda), cast(tau, to: Float.self))
            : LAPACKE_dorgqr(
                LAPACK_ROW_MAJOR, Int32(m), Int32(n), Int32(k), cast(a, to: Double.self), Int32(lda), cast(tau, to: Double.self))
    }
}
