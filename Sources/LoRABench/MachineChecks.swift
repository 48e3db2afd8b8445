import Foundation
import LinearAlgebra

/// How fast this machine's `sgemm` multiplies two `n×n` Float matrices.
public struct GEMMCheck: Codable, Sendable, Equatable {
    public var size: Int
    /// The best of five timed runs after a warm-up.
    public var milliseconds: Double
    /// `2n³` FLOP over that time.
    public var gflops: Double

    /// Times `C = A·B` for seeded `n×n` matrices.
    public static func measure(size n: Int = 2048) -> GEMMCheck {
        var generator = SeededGenerator(seed: 1)
        let a = Matrix<Float>.randomNormal(rows: n, columns: n, using: &generator)
        let b = Matrix<Float>.randomNormal(rows: n, columns: n, using: &generator)
        var c = Matrix<Float>.zeros(n, n)
        let seconds = bestTime(repeats: 5) { Matrix.gemm(a, b, into: &c) }
        return GEMMCheck(size: n, milliseconds: seconds * 1e3, gflops: 2 * Double(n * n * n) / seconds / 1e9)
    }

    public var summary: String {
        String(format: "GEMM: sgemm %d³ in %.2f ms: %.1f GFLOP/s", size, milliseconds, gflops)
    }
}

/// Whether LAPACK's `dgesdd` factors a seeded Gaussian matrix to rounding accuracy.
public struct SVDCheck: Codable, Sendable, Equatable {
    public var rows: Int
    public var columns: Int
    public var milliseconds: Double
    /// `‖A − UΣVᵀ‖_F / ‖A‖_F`.
    public var reconstructionError: Double
    /// `‖UᵀU − I‖_F` and `‖VᵀV − I‖_F`.
    public var uOrthogonalityError: Double
    public var vOrthogonalityError: Double
    /// `σ₁` and the smallest singular value.
    public var largestSingularValue: Double
    public var smallestSingularValue: Double

    /// Factors a seeded `rows×columns` Double matrix (`rows ≥ columns`).
    public static func measure(rows: Int = 512, columns: Int = 256) throws -> SVDCheck {
        var generator = SeededGenerator(seed: 2)
        let a = Matrix<Double>.randomNormal(rows: rows, columns: columns, using: &generator)
        let start = DispatchTime.now().uptimeNanoseconds
        let svd = try a.singularValueDecomposition()
        let milliseconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
        return SVDCheck(
            rows: rows, columns: columns, milliseconds: milliseconds,
            reconstructionError: (a - svd.reconstructed()).frobeniusNorm / a.frobeniusNorm,
            uOrthogonalityError: (svd.u.transposed * svd.u - .identity(columns)).frobeniusNorm,
            vOrthogonalityError: (svd.vt * svd.vt.transposed - .identity(columns)).frobeniusNorm,
            largestSingularValue: svd.singularValues.first!, smallestSingularValue: svd.singularValues.last!)
    }

    public var summary: String {
        String(format: "SVD: dgesdd %d×%d in %.1f ms: ‖A − UΣVᵀ‖/‖A‖ = %.1e, ‖UᵀU − I‖ = %.1e, ‖VᵀV − I‖ = %.1e, σ₁ = %.3f, σ%@ = %.3f",
               rows, columns, milliseconds, reconstructionError, uOrthogonalityError, vOrthogonalityError,
               largestSingularValue, Self.subscriptDigits(columns), smallestSingularValue)
    }

    private static func subscriptDigits(_ n: Int) -> String {
        String(String(n).unicodeScalars.map { Character(UnicodeScalar(0x2080 + $0.value - 0x30)!) })
    }

    enum CodingKeys: String, CodingKey {
        case rows, columns, milliseconds
        case reconstructionError = "reconstruction_error", uOrthogonalityError = "u_orthogonality_error"
        case vOrthogonalityError = "v_orthogonality_error", largestSingularValue = "largest_singular_value"
        case smallestSingularValue = "smallest_singular_value"
    }
}

/// The shortest wall-clock time of `body` over `repeats` runs, after one warm-up run, in seconds.
func bestTime(repeats: Int, _ body: () -> Void) -> Double {
    body()
    var best = Double.infinity
    for _ in 0..<repeats {
        let start = DispatchTime.now().uptimeNanoseconds
        body()
        best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
    }
    return best
}
