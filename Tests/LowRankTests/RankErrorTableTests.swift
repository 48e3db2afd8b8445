import Foundation
import LinearAlgebra
import LowRank
import Testing

@Suite struct RankErrorTableTests {
    /// Every fixture, every rank: singular values and relative errors equal numpy's to 1e-6
    /// relative, and (Double) the measured error equals the Eckart–Young tail bound to 1e-10.
    @Test func matchesNumpyDouble() throws {
        for fixture in try SVDFixture.all() {
            let table = try RankErrorTable(matrix: fixture.matrix(Double.self), ranks: fixture.ranks)
            #expect(table.singularValues.count == fixture.singularValues.count)
            for (ours, numpy) in zip(table.singularValues, fixture.singularValues) {
                #expect(isClose(ours, numpy, relative: 1e-6), "\(fixture.name): σ \(ours) vs numpy \(numpy)")
            }
            for (row, numpy) in zip(table.rows, fixture.relativeErrors) {
                #expect(isClose(row.relativeError, numpy, relative: 1e-6), "\(fixture.name) rank \(row.rank)")
                #expect(abs(row.relativeError - row.tailBound) <= 1e-10, "\(fixture.name) rank \(row.rank)")
            }
        }
    }

    /// Float follows numpy to Float accuracy.
    @Test func matchesNumpyFloat() throws {
        for fixture in try SVDFixture.all() {
            let table = try RankErrorTable(matrix: fixture.matrix(Float.self), ranks: fixture.ranks)
            let largest = fixture.singularValues[0]
            for (ours, numpy) in zip(table.singularValues, fixture.singularValues) {
                #expect(abs(ours - numpy) <= 1e-5 * largest, "\(fixture.name): σ \(ours) vs numpy \(numpy)")
            }
            for (row, numpy) in zip(table.rows, fixture.relativeErrors) {
                #expect(abs(row.relativeError - numpy) <= 1e-4, "\(fixture.name) rank \(row.rank)")
                #expect(abs(row.relativeError - row.tailBound) <= 1e-4, "\(fixture.name) rank \(row.rank)")
            }
        }
    }

    /// The columns by their definitions, on a matrix with known singular values 4, 2, 1.
    func checkColumns<T: TestScalar>(_: T.Type) throws {
        let m = Matrix<T>([[4, 0, 0, 0], [0, 0, 2, 0], [0, 1, 0, 0]])
        let table = try RankErrorTable(matrix: m, ranks: [2, 1, 3])
        #expect(table.rows.map(\.rank) == [2, 1, 3])
        #expect(table.singularValues == [4, 2, 1])
        let row = table.rows[0]
        #expect(row.parameters == 2 * (3 + 4))
        #expect(row.parameterFraction == 14.0 / 12.0)
        #expect(abs(row.relativeError - (1.0 / 21).squareRoot()) <= Double(T.loose))
        #expect(abs(row.tailBound - (1.0 / 21).squareRoot()) <= 1e-15)
        #expect(row.spectralError == 0.25)
        #expect(abs(row.retainedEnergy - 20.0 / 21) <= 1e-15)
        #expect(table.rows[2].spectralError == 0 && table.rows[2].tailBound == 0 && table.rows[2].retainedEnergy == 1)
        #expect(try table.spectrum.smallestRank(reachingEnergy: 0.9) == 2)
        #expect(try table.spectrum.smallestRank(reachingEnergy: 1) == 3)
        #expect(try table.spectrum.smallestRank(withRelativeErrorAtMost: 0.5) == 1)
        #expect(try table.spectrum.smallestRank(withRelativeErrorAtMost: 0.25) == 2)
        #expect(try table.spectrum.smallestRank(withRelativeErrorAtMost: 0.2) == 3)
    }

    @Test func columnsFloat() throws { try checkColumns(Float.self) }
    @Test func columnsDouble() throws { try checkColumns(Double.self) }

    /// The randomized table is close to the exact one on a decaying spectrum.
    func checkRandomized<T: TestScalar>(_: T.Type) throws {
        let m = try decayingMatrix(T.self, rows: 80, columns: 60, decay: 0.85, seed: 12)
        let ranks = [2, 8, 16]
        let exact = try RankErrorTable(matrix: m, ranks: ranks)
        let randomized = try RankErrorTable(matrix: m, ranks: ranks, method: .randomized(RandomizedSVDOptions(seed: 3)))
        #expect(randomized.singularValues.count == 17)
        #expect(!randomized.spectrum.isComplete && randomized.spectrum.maximumRank == 16)
        for (e, r) in zip(exact.rows, randomized.rows) {
            #expect(r.relativeError <= 1.01 * e.relativeError)
            #expect(isClose(r.tailBound, e.tailBound, relative: 1e-2, absolute: 1e-5))
            #expect(isClose(r.spectralError, e.spectralError, relative: 1e-2))
            #expect(isClose(r.retainedEnergy, e.retainedEnergy, relative: 1e-4))
        }
    }

    @Test func randomizedFloat() throws { try checkRandomized(Float.self) }
    @Test func randomizedDouble() throws { try checkRandomized(Double.self) }

    @Test func jsonFieldNames() throws {
        let table = try RankErrorTable(matrix: Matrix<Double>([[3, 0], [0, 1], [0, 0]]), ranks: [1])
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let object = try #require(JSONSerialization.jsonObject(with: encoder.encode(table)) as? [String: Any])
        #expect(Set(object.keys) == ["rows", "singular_values", "matrix_rows", "matrix_columns"])
        let row = try #require((object["rows"] as? [[String: Any]])?.first)
        #expect(Set(row.keys) == ["rank", "parameters", "parameter_fraction", "relative_error", "tail_bound",
                                  "spectral_error", "retained_energy"])
        #expect(abs(try #require(row["relative_error"] as? Double) - 0.1.squareRoot()) <= 1e-15)
    }

    @Test func badInputs() throws {
        let m = Matrix<Double>(rows: 5, columns: 3) { i, j in Double(i * j + 1) }
        #expect(throws: LowRankError.noRanks) { try RankErrorTable(matrix: m, ranks: []) }
        #expect(throws: LowRankError.rankOutOfRange(rank: 0, shape: "5×3", maximum: 3)) {
            try RankErrorTable(matrix: m, ranks: [1, 0])
        }
        #expect(throws: LowRankError.rankOutOfRange(rank: 4, shape: "5×3", maximum: 3)) {
            try RankErrorTable(matrix: m, ranks: [4])
        }
        var bad = m
        bad[0, 0] = -.infinity
        #expect(throws: LowRankError.nonFiniteMatrix(shape: "5×3")) { try RankErrorTable(matrix: bad, ranks: [1]) }
        let table = try RankErrorTable(matrix: m, ranks: [1])
        #expect(throws: LowRankError.targetOutOfRange(name: "energy target", value: 0, range: "(0, 1]")) {
            try table.spectrum.smallestRank(reachingEnergy: 0)
        }
        #expect(throws: LowRankError.targetOutOfRange(name: "error target", value: 1.5, range: "[0, 1)")) {
            try table.spectrum.smallestRank(withRelativeErrorAtMost: 1.5)
        }
    }

    /// The quarter-circle column matches a measured 256×256 Gaussian table within 0.04.
    @Test func gaussianFollowsQuarterCircle() throws {
        var generator = SeededGenerator(seed: 42)
        let m = Matrix<Double>.randomNormal(rows: 256, columns: 256, standardDeviation: 0.01, using: &generator)
        var table = try RankErrorTable(matrix: m, ranks: [4, 16, 64, 128, 256])
        table.addQuarterCircleTheory()
        for row in table.rows {
            let theory = try #require(row.theoryError)
            #expect(abs(row.relativeError - theory) <= 0.04, "rank \(row.rank): \(row.relativeError) vs \(theory)")
        }
    }
}
