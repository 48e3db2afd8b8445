import LinearAlgebra
@testable import LoRA
import Testing

/// The memory-floor pass reads all of `X` and adds to all of `Y`, in every build this CPU runs, on
/// shapes with row counts off the six-row blocks, widths off the vector lengths, and one and two
/// threads. The rank only sets how many parts the rows are cut into (one per 2²² multiply-adds of
/// the adapter path it stands for): at rank 4096 the largest shape is cut in two on two threads.
@Suite("AdapterMemoryFloor reads X and writes Y whole", .enabled(if: AdapterMemoryFloor.isSupported))
struct AdapterMemoryFloorTests {
    /// `(n, k, d)`.
    static let shapes = [(1, 1, 1), (5, 63, 17), (7, 64, 16), (13, 130, 33), (50, 300, 200)]

    @Test(arguments: PackedLowRankProduct.InstructionSet.allCases.filter(\.isSupported), shapes)
    func sumsXAndAddsToY(isa: PackedLowRankProduct.InstructionSet, shape: (n: Int, k: Int, d: Int)) {
        var generator = SeededGenerator(seed: UInt64(shape.n * 10_000 + shape.k * 100 + shape.d))
        let x = Matrix<Float>.randomNormal(rows: shape.n, columns: shape.k, using: &generator)
        let y = Matrix<Float>.randomNormal(rows: shape.n, columns: shape.d, using: &generator)
        let expectedSum = x.elements.reduce(0.0) { $0 + Double($1) }
        let absoluteSum = x.elements.reduce(0.0) { $0 + Double(abs($1)) }
        for threads in [1, 2] {
            var result = y
            let sum = AdapterMemoryFloor.pass(x, through: &result, rank: 4096, addend: 0.5, threads: threads, isa: isa)
            #expect(abs(Double(sum) - expectedSum) <= 1e-5 * absoluteSum + 1e-6, "\(isa), \(threads) threads")
            #expect(zip(result.elements, y.elements).allSatisfy { $0 == $1 + 0.5 }, "\(isa), \(threads) threads")
        }
    }
}
