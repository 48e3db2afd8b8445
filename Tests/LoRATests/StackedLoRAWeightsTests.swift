import LinearAlgebra
import LoRA
import Testing

/// The serving layout against the three-GEMM definition (naive loops in Double, from
/// ``LoRAWeightsForwardTests``), merged and unmerged, on the same odd shapes.
@Suite("StackedLoRAWeights: [W; A] in one GEMM")
struct StackedLoRAWeightsTests {
    let definition = LoRAWeightsForwardTests()

    func checkForward<T: MatrixScalar>(_: T.Type, tolerance: Double) {
        for (d, k, r, n) in LoRAWeightsForwardTests.shapes {
            let (weights, x) = definition.makeCase(T.self, d: d, k: k, r: r, n: n)
            var stacked = StackedLoRAWeights(weights)
            let roundTrip = stacked.weights
            #expect(roundTrip.base == weights.base && roundTrip.a == weights.a && roundTrip.b == weights.b && !roundTrip.isMerged)
            #expect(stacked.outFeatures == d && stacked.inFeatures == k && stacked.rank == r)
            var output = Matrix<T>(rows: n, columns: d + r, repeating: .nan)  // β = 0: old contents ignored
            stacked.forward(x, into: &output)
            let shape = "d=\(d) k=\(k) r=\(r) n=\(n)"
            #expect(definition.relativeError(output[columns: 0..<d], definition.reference(weights, x)) < tolerance, "Y, \(shape)")
            #expect(definition.relativeError(output[columns: d..<(d + r)], definition.naiveTimesTransposed(x, weights.a)) < tolerance,
                    "T, \(shape)")

            stacked.merge()
            var merged = weights
            merged.merge()
            #expect(stacked.isMerged && definition.relativeError(stacked.weights.base, merged.base.rowArrays) < tolerance, "\(shape)")
            var mergedOutput = Matrix<T>(rows: n, columns: d + r, repeating: .nan)
            stacked.forward(x, into: &mergedOutput)
            #expect(definition.relativeError(mergedOutput[columns: 0..<d], definition.reference(weights, x)) < 10 * tolerance,
                    "merged Y, \(shape)")
            let untouched = mergedOutput[columns: d..<(d + r)].elements.allSatisfy { $0.isNaN }
            #expect(untouched, "merged writes Y only, \(shape)")

            stacked.unmerge()
            #expect(!stacked.isMerged && definition.relativeError(stacked.weights.base, weights.base.rowArrays) < tolerance, "\(shape)")
        }
    }

    @Test func forwardMergeAndUnmerge() {
        checkForward(Float.self, tolerance: 1e-5)
        checkForward(Double.self, tolerance: 1e-13)
    }

    @Test func anOutputWithoutRoomForTTraps() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let stacked = StackedLoRAWeights(LoRAWeights<Float>(base: .zeros(6, 5), a: .zeros(2, 5), b: .zeros(6, 2), scale: 1))
            var y = Matrix<Float>.zeros(3, 6)  // Y's shape n×d, not n×(d+r)
            stacked.forward(.zeros(3, 5), into: &y)
        }
        let message = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(message.contains("X 3×5 with [W; A] 8×5 does not fit output 3×6"))
    }
}

extension Matrix {
    /// The rows as arrays of Double, the shape ``LoRAWeightsForwardTests/relativeError(_:_:)`` compares against.
    var rowArrays: [[Double]] {
        (0..<rows).map { i in (0..<columns).map { Double(self[i, $0]) } }
    }
}
