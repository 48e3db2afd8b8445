@testable import LowRank
import LinearAlgebra
import Testing

@Suite struct FinitenessTests {
    /// NaN or ±∞ anywhere is caught, and huge finite values whose norm overflows are not rejected.
    func checkFiniteness<T: MatrixScalar>(_: T.Type) throws {
        let m = Matrix<T>(rows: 7, columns: 5) { i, j in T(i - j) }
        try m.validateForAnalysis()
        for index in [0, 17, 34] {
            for bad in [T.nan, T.infinity, -T.infinity] {
                var elements = m.elements
                elements[index] = bad
                let broken = Matrix(rows: 7, columns: 5, elements: elements)
                #expect(throws: LowRankError.nonFiniteMatrix(shape: "7×5")) { try broken.validateForAnalysis() }
            }
        }
        let huge = Matrix<T>(rows: 4, columns: 4, repeating: T.greatestFiniteMagnitude / 2)
        #expect(!huge.frobeniusNorm.isFinite)
        try huge.validateForAnalysis()
    }

    @Test func float() throws { try checkFiniteness(Float.self) }
    @Test func double() throws { try checkFiniteness(Double.self) }
}
