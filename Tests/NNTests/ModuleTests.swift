import NN
import LinearAlgebra
import Testing

@Suite("Module paths, counts and trainable flags")
struct ModuleTests {
    func makeStack<T: MatrixScalar>(_: T.Type) -> TransformerStack<T> {
        var generator = SeededGenerator(seed: 3)
        return TransformerStack<T>(depth: 2, features: 16, heads: 4, using: &generator)
    }

    func checkPathsAndCounts<T: MatrixScalar>(_: T.Type) {
        let model = makeStack(T.self)
        let paths = model.namedParameters().map(\.path)
        #expect(paths.prefix(8) == [
            "blocks.0.norm1.weight", "blocks.0.norm1.bias",
            "blocks.0.attn.q_proj.weight", "blocks.0.attn.k_proj.weight",
            "blocks.0.attn.v_proj.weight", "blocks.0.attn.o_proj.weight",
            "blocks.0.norm2.weight", "blocks.0.norm2.bias",
        ])
        #expect(paths.contains("blocks.1.mlp.0.bias") && paths.contains("blocks.1.mlp.2.weight"))
        #expect(model.parameter(at: "blocks.1.attn.v_proj.weight")?.value.shapeDescription == "16×16")
        // Per block as PyTorch counts SimpleTransformerBlock(16): 4·16² + (16·64 + 64) + (64·16 + 16) + 4·16.
        let perBlock = 4 * 256 + 1088 + 1040 + 64
        #expect(model.parameterCount == 2 * perBlock)
        #expect(model.trainableParameterCount == 2 * perBlock)
        let counts = model.parameterCounts()
        #expect(counts.first { $0.path == "blocks.1" }?.total == perBlock)
        #expect(counts.first { $0.path == "blocks.0.mlp.1" }?.total == 0)
    }

    @Test func pathsAndCounts() {
        checkPathsAndCounts(Float.self)
        checkPathsAndCounts(Double.self)
    }

    /// A replica has the same parameters, reads (and writes) the model's values, and keeps its
    /// own gradients and caches: it computes the same forward and backward on another batch.
    @Test func replicaSharesValuesAndKeepsItsOwnGradients() {
        let model = makeStack(Double.self)
        model.blocks[0].attention.setTrainable(false)
        let replica = model.replica()
        #expect(replica.namedParameters().map(\.path) == model.namedParameters().map(\.path))
        #expect(replica.trainableParameters().map(\.path) == model.trainableParameters().map(\.path))
        var generator = SeededGenerator(seed: 5)
        let x = Matrix<Double>.randomNormal(rows: 8, columns: 16, using: &generator)
        let other = Matrix<Double>.randomNormal(rows: 12, columns: 16, using: &generator)
        let y = model.forward(x, sequenceLength: 4)
        _ = replica.forward(other, sequenceLength: 4)  // its own cache: the model's stays
        _ = model.backward(y)
        #expect(replica.namedParameters().allSatisfy { $0.parameter.gradient == nil })
        #expect(replica.forward(x, sequenceLength: 4) == y)
        _ = replica.backward(y)
        for (original, copy) in zip(model.trainableParameters(), replica.trainableParameters()) {
            #expect(copy.parameter.gradient == original.parameter.gradient, "\(copy.path)")
        }
        let weight = model.blocks[1].mlp.expansion.localParameters[0].parameter
        weight.modifyValue { $0[0, 0] += 1 }
        #expect(replica.blocks[1].mlp.expansion.localParameters[0].parameter.value == weight.value)
        #expect(replica.forward(x, sequenceLength: 4) != y)
    }

    @Test func gradientsAreAllocatedByTheFirstBackwardAndReleasedByFreezing() {
        let model = makeStack(Float.self)
        #expect(model.namedParameters().allSatisfy { $0.parameter.gradient == nil })
        var generator = SeededGenerator(seed: 4)
        let x = Matrix<Float>.randomNormal(rows: 8, columns: 16, using: &generator)
        _ = model.backward(model.forward(x, sequenceLength: 4))
        #expect(model.namedParameters().allSatisfy { $0.parameter.gradient != nil })
        model.setTrainable(false)
        #expect(model.trainableParameterCount == 0)
        #expect(model.namedParameters().allSatisfy { $0.parameter.gradient == nil })
        model.blocks[1].norm2.setTrainable(true)
        #expect(model.trainableParameterCount == 32)
        #expect(model.parameterCounts().first { $0.path == "blocks.1" }?.frozen == 4 * 256 + 1088 + 1040 + 32)
    }

    @Test func frozenModelStillPropagatesInputGradient() {
        let model = makeStack(Double.self)
        model.setTrainable(false)
        var generator = SeededGenerator(seed: 4)
        let x = Matrix<Double>.randomNormal(rows: 8, columns: 16, using: &generator)
        let check = GradientCheck.worstError(
            of: model, input: x, forward: { model.forward($0, sequenceLength: 4) }, backward: model.backward)
        #expect(check.error <= 1e-6)
    }
}
