import Foundation
import LinearAlgebra
import LoRA
import Models
import NN
import Quantization
import TensorFormats
import Testing
import Training

/// A frozen base on a GGUF file's own Q4_1/Q8_0 blocks, and projections built in their final form
/// while the file is read (`ProjectionStorage`).
@Suite("Frozen bases on GGUF blocks and NF4, built while loading")
struct BlockQuantizedLinearTests {
    static let q4_1File = try! GGUFFile(contentsOf: fixture("tiny_llama/tiny_llama.q4_1.gguf"))

    /// `blk.0.ffn_down.weight` (Q4_1, 32×64) and `token_embd.weight` (Q8_0, 64×32) as blocks, with
    /// the file's own dequantization (checked against gguf-py's) as the reference.
    static func blocks(_ name: String, _ type: QuantizedMatrix.BlockType) throws -> (QuantizedMatrix, Matrix<Float>) {
        let shape = try q4_1File.shape(name)
        let matrix = QuantizedMatrix(type: type, rows: shape[0], columns: shape[1], blocks: try q4_1File.rawBytes(name))
        return (matrix, Matrix(rows: shape[0], columns: shape[1], elements: try q4_1File.dequantized(name)))
    }

    /// Few rows (on the blocks) and many (over panels that divide the rows, that do not, of one
    /// row): forward and ∂X equal the dense layer on the dequantized weight to Float rounding.
    @Test(arguments: [("blk.0.ffn_down.weight", QuantizedMatrix.BlockType.q4_1), ("token_embd.weight", .q8_0)])
    func forwardAndInputGradientEqualTheDequantizedLayer(name: String, type: QuantizedMatrix.BlockType) throws {
        let (blocks, dequantized) = try Self.blocks(name, type)
        #expect(blocks.dequantized() == dequantized)
        #expect(blocks.storageBytes == blocks.rows * blocks.bytesPerRow)
        let dense = Linear(weight: dequantized)
        var generator = SeededGenerator(seed: 21)
        let limit = QuantizedMatrix.directProductRowLimit
        for (n, panelRows) in [(1, 256), (limit, 5), (limit + 1, 1), (40, 7), (40, 16), (40, 1000)] {
            let layer = BlockQuantizedLinear(weight: blocks, panelRows: panelRows)
            let x = Matrix<Float>.randomNormal(rows: n, columns: blocks.columns, using: &generator)
            let g = Matrix<Float>.randomNormal(rows: n, columns: blocks.rows, using: &generator)
            #expect(GradientCheck.relativeError(layer.forward(x), dense.forward(x)) <= 1e-6, "n \(n), panels of \(panelRows)")
            #expect(GradientCheck.relativeError(layer.backward(g), dense.backward(g)) <= 1e-6, "n \(n), panels of \(panelRows)")
            #expect(layer.quantizedWeightBytes == blocks.storageBytes && layer.trainableParameters().isEmpty)
        }
    }

    /// In Double the panels hold the same values widened: equal to a Double dense layer.
    @Test func doubleLayerOnBlocksEqualsTheWidenedDenseLayer() throws {
        let (blocks, dequantized) = try Self.blocks("blk.1.attn_k.weight", .q4_1)
        let layer = FrozenQuantizedLinear<QuantizedMatrix, Double>(weight: blocks, panelRows: 3)
        let dense = Linear(weight: dequantized.converted(to: Double.self))
        var generator = SeededGenerator(seed: 22)
        let x = Matrix<Double>.randomNormal(rows: 5, columns: blocks.columns, using: &generator)
        let g = Matrix<Double>.randomNormal(rows: 5, columns: blocks.rows, using: &generator)
        #expect(GradientCheck.relativeError(layer.forward(x), dense.forward(x)) <= 1e-14)
        #expect(GradientCheck.relativeError(layer.backward(g), dense.backward(g)) <= 1e-14)
    }

    /// Every projection of the tiny model in the form asked for, holding what the dense load holds:
    /// the same blocks dequantized, or the NF4 bytes of quantizing the dense weight after loading.
    @Test func projectionsAreBuiltInTheirFormWhileLoading() throws {
        let url = fixture("tiny_llama/tiny_llama.q4_1.gguf")
        let dense = try LlamaForCausalLM<Float>(ggufAt: url)
        let onBlocks = try LlamaForCausalLM<Float>(ggufAt: url, projections: .fileBlocks(.q4_1))
        let nf4 = try LlamaForCausalLM<Float>(ggufAt: url, projections: .nf4(doubleQuantization: true))
        let weights = Dictionary(uniqueKeysWithValues: dense.namedParameters().map { ($0.path, $0.parameter.value) })
        var projections = 0
        for ((path, block), (_, quantized)) in zip(onBlocks.namedModules(), nf4.namedModules()) {
            guard let block = block as? BlockQuantizedLinear else { continue }
            let nf4Layer = try #require(quantized as? NF4Linear<Float>, "\(path)")
            let weight = try #require(weights[path + ".weight"], "\(path)")
            #expect(block.weight.dequantized() == weight, "\(path)")
            #expect(nf4Layer.weight == (try NF4Matrix(quantizing: weight, doubleQuantization: true)), "\(path)")
            projections += 1
        }
        #expect(projections == 2 * 7)
        // Stored bytes: Float parameters at 4 bytes, blocks at 20 bytes per 32 (Q4_1), NF4 codes and scales.
        let c = dense.configuration
        let projectionWeights = c.layers * (2 * c.hiddenSize * c.hiddenSize + 2 * c.hiddenSize * c.keyValueHeads * c.headSize
            + 3 * c.hiddenSize * c.intermediateSize)
        #expect(dense.storedWeightBytes == 4 * dense.parameterCount)
        #expect(onBlocks.storedWeightBytes == 4 * onBlocks.parameterCount + projectionWeights / 32 * 20)
        #expect(4 * onBlocks.parameterCount == 4 * dense.parameterCount - 4 * projectionWeights)
        let logits = dense.logits(tokens: TinyReference.shared.len16, sequenceLength: 16)
        #expect(GradientCheck.relativeError(onBlocks.logits(tokens: TinyReference.shared.len16, sequenceLength: 16), logits) <= 1e-5)
    }

    /// A short fine-tune of LoRA on the Q4_1 blocks takes the steps it takes on the dense load of
    /// the same file (the same base values; only rounding differs), and lowers the loss.
    @Test func aShortFineTuneOnTheBlocksFollowsTheDenseRun() throws {
        let url = fixture("tiny_llama/tiny_llama.q4_1.gguf")
        let stream = (0..<200).map { ($0 * 7 + $0 / 5) % 64 }
        func losses(_ projections: ProjectionStorage) throws -> [Double] {
            let model = try LlamaForCausalLM<Float>(ggufAt: url, projections: projections)
            var generator = SeededGenerator(seed: 5)
            let lora = LoRAConfiguration(rank: 4, alpha: 8, targetModules: .names(["q_proj", "v_proj", "down_proj"]))
            #expect(try model.injectLoRA(lora, using: &generator).wrapped.count == 6)
            let run = FineTuning(
                model: model, trainingWindows: TokenWindows.training(stream, context: 16), evaluationWindows: [],
                options: FineTuningOptions(steps: 8, batchSize: 2, context: 16, learningRate: 1e-2))
            return try run.run().losses
        }
        let (blocks, dense) = (try losses(.fileBlocks(.q4_1)), try losses(.float))
        #expect(blocks.count == 8 && blocks.last! < blocks.first!, "\(blocks)")
        for (a, b) in zip(blocks, dense) { #expect(abs(a - b) <= 1e-4 * abs(b), "\(blocks) against \(dense)") }
    }

    /// The bad inputs of a quantized base, each a typed one-line error naming the file and tensor:
    /// blocks of another type than the file's (or a file of Float tensors), a projection of a type
    /// the loader cannot dequantize, a row that is not whole blocks.
    @Test func badInputsAreTypedOneLineErrors() throws {
        func error(_ url: URL, _ projections: ProjectionStorage) -> ModelError? {
            do {
                _ = try LlamaForCausalLM<Float>(ggufAt: url, projections: projections)
                return nil
            } catch {
                #expect(error.description.hasPrefix(url.path + ": ") && !error.description.contains("\n"), "\(error)")
                return error
            }
        }
        let q4_1 = fixture("tiny_llama/tiny_llama.q4_1.gguf"), f32 = fixture("tiny_llama/tiny_llama.f32.gguf")
        #expect(error(q4_1, .fileBlocks(.q8_0)) == .projectionType(file: q4_1.path, tensor: "blk.0.attn_q.weight", type: "Q4_1", kept: "q8_0"))
        #expect(error(f32, .fileBlocks(.q4_1)) == .projectionType(file: f32.path, tensor: "blk.0.attn_q.weight", type: "F32", kept: "q4_1"))

        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("lorakit-blocks-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        /// The fixture at `source` with `tensor`'s dimensions and type (after its name: u32 count,
        /// u64 per dimension, u32 type) rewritten by `edit`.
        func edited(_ source: URL, _ tensor: String, _ edit: (inout Data, Int) -> Void) throws -> URL {
            var data = try Data(contentsOf: source)
            let at = try #require(data.range(of: Data(tensor.utf8))).upperBound
            edit(&data, at)
            let url = directory.appendingPathComponent("\(tensor).gguf")
            try data.write(to: url)
            return url
        }
        // F32 relabelled I32 (4 bytes an element too): a type with no Float conversion.
        let integer = try edited(f32, "blk.0.attn_v.weight") { data, at in data.replaceSubrange((at + 20)..<(at + 24), with: [26, 0, 0, 0]) }
        let unconvertible = error(integer, .nf4(doubleQuantization: false))
        #expect(unconvertible.map { if case .gguf(.unsupportedTensorType(_, "blk.0.attn_v.weight", .i32)) = $0 { true } else { false } } == true,
                "\(String(describing: unconvertible))")
        // A 16×32 Q4_1 weight relabelled 32×16: rows of 16 values are not whole blocks of 32.
        let halfBlocks = try edited(q4_1, "blk.0.attn_k.weight") { data, at in
            data.replaceSubrange((at + 4)..<(at + 20), with: [16, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0, 0, 0, 0, 0, 0])
        }
        let partial = error(halfBlocks, .fileBlocks(.q4_1))
        #expect(partial.map { if case .gguf(.invalidDimensions(_, "blk.0.attn_k.weight", _, _)) = $0 { true } else { false } } == true,
                "\(String(describing: partial))")
    }
}
