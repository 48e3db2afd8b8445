import Foundation
import Testing
import LinearAlgebra
import PEFT
import TensorFormats

/// Test tolerances for each precision.
protocol Tolerances { static var loose: Self { get } }
extension Float: Tolerances { static var loose: Float { 1e-4 } }
extension Double: Tolerances { static var loose: Double { 1e-11 } }

typealias TestScalar = MatrixScalar & Tolerances

/// An `m×n` matrix with singular values `decay^i` (`i = 0…p−1`) between seeded random orthonormal factors.
func decayingMatrix<T: MatrixScalar>(
    _: T.Type, rows m: Int, columns n: Int, decay: Double, seed: UInt64
) throws -> Matrix<T> {
    var generator = SeededGenerator(seed: seed)
    let p = min(m, n)
    let u = try Matrix<Double>.randomNormal(rows: m, columns: p, using: &generator).qrDecomposition().q
    let v = try Matrix<Double>.randomNormal(rows: n, columns: p, using: &generator).qrDecomposition().q
    let scaled = Matrix<Double>(rows: m, columns: p) { i, j in u[i, j] * pow(decay, Double(j)) }
    return (scaled * v.transposed).converted(to: T.self)
}

/// One matrix of `Fixtures/svd_reference.json`, written by `scripts/fixtures/make_svd_fixtures.py`:
/// the `.npy` file and numpy's singular values and per-rank relative errors.
struct SVDFixture: Decodable {
    let name: String
    let file: String
    let singularValues: [Double]
    let ranks: [Int]
    let relativeErrors: [Double]

    enum CodingKeys: String, CodingKey {
        case name, file, ranks
        case singularValues = "singular_values"
        case relativeErrors = "relative_errors"
    }

    static func all() throws -> [SVDFixture] {
        let url = try #require(Bundle.module.url(forResource: "svd_reference", withExtension: "json", subdirectory: "Fixtures"))
        return try JSONDecoder().decode([SVDFixture].self, from: Data(contentsOf: url))
    }

    /// The `.npy` file numpy wrote.
    var url: URL { Bundle.module.resourceURL!.appendingPathComponent("Fixtures").appendingPathComponent(file) }

    /// The matrix, read by TensorFormats' `.npy` reader (C or Fortran order, float32 or float64).
    func matrix<T: MatrixScalar>(_: T.Type) throws -> Matrix<T> {
        try NPY.readMatrix(url, as: T.self)
    }
}

/// `|x − reference| ≤ relative·|reference| + absolute`.
func isClose(_ x: Double, _ reference: Double, relative: Double, absolute: Double = 1e-12) -> Bool {
    abs(x - reference) <= relative * abs(reference) + absolute
}
