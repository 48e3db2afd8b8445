import LinearAlgebra
import Testing

@Suite struct FinitenessTests {
    /// NaN or ±∞ anywhere is caught (by the BLAS norm or the element loop), and huge finite values
    /// whose norm overflows are still finite.
    func checkFiniteness<T: MatrixScalar>(_: T.Type) {
        let m = Matrix<T>(rows: 7, columns: 5) { i, j in T(i - j) }
        #expect(m.isFinite)
        for index in [0, 17, 34] {
            for bad in [T.nan, T.infinity, -T.infinity] {
                var elements = m.elements
                elements[index] = bad
                #expect(!Matrix(rows: 7, columns: 5, elements: elements).isFinite)
            }
        }
        let huge = Matrix<T>(rows: 4, columns: 4, repeating: T.greatestFiniteMagnitude / 2)
        #expect(!huge.frobeniusNorm.isFinite)
        #expect(huge.isFinite)
        #expect(Matrix<T>.zeros(0, 3).isFinite)
    }

    @Test func float() { checkFiniteness(Float.self) }
    @Test func double() { checkFiniteness(Double.self) }
}
