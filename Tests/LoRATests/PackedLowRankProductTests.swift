import Dispatch
import LinearAlgebra
import CLowRankKernel
@testable import LoRA
import Synchronization
import Testing

/// The packed kernel `Y += s·(X·Aᵀ)·Bᵀ` against naive loops in Double, in every build this CPU
/// runs (so the AVX2 build stays tested on AVX-512 machines), on shapes that reach every
/// remainder: row blocks of 1–5 rows, ranks that leave a panel part-filled, need several panels
/// or an odd one after the AVX-512 build's pairs, `k = 1`, and output widths that end in a partial
/// panel after whole tiles of one, two or four panels.
@Suite("PackedLowRankProduct against naive loops", .enabled(if: PackedLowRankProduct.isSupported))
struct PackedLowRankProductTests {
    typealias InstructionSet = PackedLowRankProduct.InstructionSet

    /// The builds that run here.
    static let builds = InstructionSet.allCases.filter(\.isSupported)

    /// `(n, k, r, d)`.
    static let shapes = [
        (1, 1, 1, 1), (2, 9, 3, 15), (3, 1, 5, 70), (4, 13, 8, 17), (5, 32, 16, 100), (6, 40, 17, 33),
        (7, 31, 33, 64), (11, 8, 32, 129), (13, 64, 48, 7), (29, 31, 16, 48), (10, 5, 64, 80), (9, 3, 65, 20),
        (12, 8, 33, 40),
    ]

    @Test(arguments: builds, shapes)
    func matchesNaiveLoops(isa: InstructionSet, shape: (n: Int, k: Int, r: Int, d: Int)) throws {
        let (n, k, r, d) = shape
        var generator = SeededGenerator(seed: UInt64(n * 1_000_000 + k * 10_000 + r * 100 + d))
        let x = Matrix<Float>.randomNormal(rows: n, columns: k, using: &generator)
        let a = Matrix<Float>.randomNormal(rows: r, columns: k, using: &generator)
        let b = Matrix<Float>.randomNormal(rows: d, columns: r, using: &generator)
        let y = Matrix<Float>.randomNormal(rows: n, columns: d, using: &generator)
        let scale: Float = 0.75
        let product = try #require(PackedLowRankProduct(a: a, b: b, scale: scale))

        var result = y
        var projection = Matrix<Float>(rows: r, columns: n, repeating: .nan)  // written, never read
        product.accumulate(x, into: &result, projection: &projection, isa: isa)

        let t = (0..<n).map { i in (0..<r).map { q in (0..<k).reduce(0.0) { $0 + Double(x[i, $1]) * Double(a[q, $1]) } } }
        let magnitude = t.joined().map(abs).max()!
        for q in 0..<r {
            for i in 0..<n {
                #expect(abs(Double(projection[q, i]) - t[i][q]) <= 1e-5 * magnitude, "Tᵀ[\(q), \(i)]")
            }
        }
        let update = (0..<n).map { i in
            (0..<d).map { j in Double(scale) * (0..<r).reduce(0.0) { $0 + t[i][$1] * Double(b[j, $1]) } }
        }
        let updateMagnitude = update.joined().map(abs).max()!
        for i in 0..<n {
            for j in 0..<d {
                let expected = Double(y[i, j]) + update[i][j]
                #expect(abs(Double(result[i, j]) - expected) <= 1e-5 * updateMagnitude, "Y[\(i), \(j)]")
            }
        }
    }

    /// A product big enough to be split (≥ 2²³ multiply-adds, `n` not a multiple of six) and an
    /// input, seeded.
    func splittableCase(seed: UInt64) -> (product: PackedLowRankProduct, x: Matrix<Float>, y: Matrix<Float>) {
        let (n, k, r, d) = (301, 1_000, 16, 1_003)
        var generator = SeededGenerator(seed: seed)
        let product = PackedLowRankProduct(
            a: .randomNormal(rows: r, columns: k, using: &generator),
            b: .randomNormal(rows: d, columns: r, using: &generator), scale: 0.5)!
        return (product, .randomNormal(rows: n, columns: k, using: &generator), .randomNormal(rows: n, columns: d, using: &generator))
    }

    /// Every row is computed once and the same way whatever the split (the caller alone, or with
    /// pinned helpers), so each build's results are bit-identical.
    @Test(arguments: builds)
    func threadsDoNotChangeTheResult(isa: InstructionSet) {
        let (product, x, y) = splittableCase(seed: 3)
        var results: [Matrix<Float>] = []
        for threads in [1, 2, 3, 8] {
            var result = y
            var projection = Matrix<Float>(rows: 16, columns: x.rows, repeating: .nan)
            product.accumulate(x, into: &result, projection: &projection, threads: threads, isa: isa)
            #expect(projection.elements.allSatisfy { $0.isFinite }, "threads \(threads): Tᵀ not written everywhere")
            results.append(result)
        }
        #expect(results.allSatisfy { $0 == results[0] })
        #expect(results[0] != y)
    }

    /// Calls from several threads at once: one holds the helpers, the others run on their own
    /// thread; all give the one-thread result.
    @Test func concurrentCallsGiveTheOneThreadResult() {
        let (product, x, y) = splittableCase(seed: 4)
        var expected = y
        var projection = Matrix<Float>.zeros(16, x.rows)
        product.accumulate(x, into: &expected, projection: &projection, threads: 1)
        let results = Mutex(Array(repeating: Matrix<Float>.zeros(0, 0), count: 4))
        DispatchQueue.concurrentPerform(iterations: 4) { call in
            var result = y
            var projection = Matrix<Float>.zeros(16, x.rows)
            product.accumulate(x, into: &result, projection: &projection, threads: 2)
            results.withLock { $0[call] = result }
        }
        let all = results.withLock { $0 }
        #expect(all.allSatisfy { $0 == expected })
    }

    /// The kernel's own check (`__builtin_cpu_supports`) agrees with the one that picks OpenBLAS's
    /// core (cpuid and XCR0).
    @Test func buildsMatchTheCPUFeatures() {
        let features = CPUDescription.current.features
        #expect((lowrank_isa_supported(LOWRANK_ISA_AVX2_FMA) != 0) == features.usableAVX2)
        #expect((lowrank_isa_supported(LOWRANK_ISA_AVX512) != 0) == features.usableAVX512)
        #expect(InstructionSet.best == (features.usableAVX512 ? .avx512 : .avx2FMA))
    }

    @Test func declinesEmptyFactors() {
        #expect(PackedLowRankProduct(a: .zeros(0, 3), b: .zeros(4, 0), scale: 1) == nil)
        #expect(PackedLowRankProduct(a: .zeros(2, 0), b: .zeros(4, 2), scale: 1) == nil)
        #expect(PackedLowRankProduct(a: .zeros(2, 3), b: .zeros(4, 2), scale: 1)?.rank == 2)
    }

    @Test func misfitInputTrapsNamingBothShapes() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let product = PackedLowRankProduct(a: .zeros(2, 5), b: .zeros(6, 2), scale: 1)!
            var y = Matrix<Float>.zeros(3, 6)
            var projection = Matrix<Float>.zeros(2, 3)
            product.accumulate(.zeros(3, 4), into: &y, projection: &projection)
        }
        let message = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(message.contains("X 3×4 with A 2×5 does not fit Y 3×6"))
    }
}

extension PackedLowRankProduct {
    /// `accumulate` on whole matrices.
    func accumulate(
        _ x: Matrix<Float>, into y: inout Matrix<Float>, projection: inout Matrix<Float>, threads: Int = BLAS.threadCount,
        isa: InstructionSet = InstructionSet.best!
    ) {
        x.withUnsafeView { x in
            y.withUnsafeMutableView { y in
                projection.withUnsafeMutableView { accumulate(x, into: y, projection: $0, threads: threads, isa: isa) }
            }
        }
    }
}
