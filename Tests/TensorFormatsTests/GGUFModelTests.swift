import Foundation
import Testing
@testable import TensorFormats

/// SmolLM2-135M-Instruct.Q4_1.gguf in the LoRAKit cache (`$LORAKIT_CACHE/models`, else
/// `~/.cache/lorakit/models`, where scripts/fetch-model puts it), or `nil`.
private let smolLM2: URL? = {
    let environment = ProcessInfo.processInfo.environment
    let cache = environment["LORAKIT_CACHE"].map { URL(fileURLWithPath: $0) }
        ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/lorakit")
    let url = cache.appendingPathComponent("models/SmolLM2-135M-Instruct.Q4_1.gguf")
    return FileManager.default.fileExists(atPath: url.path) ? url : nil
}()

/// smollm2.reference.json, computed from the model by the gguf package.
private struct SmolLM2Reference: Decodable {
    struct Rows: Decodable {
        let name: String
        let type: String
        let shape: [Int]
        let rows: [String: [UInt32]]
    }

    let tensorCount: Int
    let typeCounts: [String: Int]
    let rows: [Rows]
    let sums: [String: [Double]]

    enum CodingKeys: String, CodingKey {
        case rows, sums
        case tensorCount = "tensor_count"
        case typeCounts = "type_counts"
    }
}

// The model is 98 MB and not committed: without it these tests are skipped, and Swift Testing
// prints the reason below.
@Suite("GGUF SmolLM2-135M-Instruct", .enabled(
    if: smolLM2 != nil,
    "SmolLM2-135M-Instruct.Q4_1.gguf is not in the model cache; scripts/fetch-model smollm2 downloads it"))
struct GGUFModelTests {
    private let model: GGUFFile
    private let reference: SmolLM2Reference

    init() throws {
        model = try GGUFFile(contentsOf: try #require(smolLM2))
        reference = try ggufReference("smollm2.reference.json", as: SmolLM2Reference.self)
    }

    @Test("metadata and tensor infos of a llama.cpp model")
    func metadataAndTensors() throws {
        #expect(model.tensors.count == 272 && reference.tensorCount == 272)
        var counts: [String: Int] = [:]
        for tensor in model.tensors { counts[tensor.type.description, default: 0] += 1 }
        #expect(counts == ["Q4_1": 210, "F32": 61, "Q8_0": 1] && counts == reference.typeCounts)
        #expect(try model.info("token_embd.weight").type == .q8_0)
        #expect(try model.string("general.architecture") == "llama")
        #expect(try model.integer("llama.block_count") == 30)
        #expect(try model.integer("llama.embedding_length") == 576)
        #expect(try model.info("blk.0.attn_q.weight").dimensions == [576, 576])
        #expect(try model.shape("token_embd.weight") == [49152, 576])
        let tokens = try model.stringArray("tokenizer.ggml.tokens")
        #expect(tokens.count == 49152)
    }

    @Test("rows of blk.0.attn_q.weight (Q4_1) and token_embd.weight (Q8_0) bit for bit as the gguf package")
    func rowsMatchTheReference() throws {
        for expected in reference.rows {
            let info = try model.info(expected.name)
            #expect(info.type.description == expected.type && info.shape == expected.shape)
            for (row, bits) in expected.rows {
                let index = try #require(Int(row))
                #expect(bitPatterns(try model.dequantizedRows(expected.name, index..<(index + 1))) == bits,
                        "\(expected.name) row \(index)")
            }
        }
        let attention = try model.dequantized("blk.0.attn_q.weight")
        let attentionRows = try #require(reference.rows.first { $0.name == "blk.0.attn_q.weight" })
        for (row, bits) in attentionRows.rows {
            let index = try #require(Int(row))
            #expect(bitPatterns(Array(attention[(index * 576)..<((index + 1) * 576)])) == bits)
        }
    }

    @Test("all 272 tensors dequantize; their sums agree with the gguf package's")
    func everyTensor() throws {
        let clock = ContinuousClock()
        var elapsed = Duration.zero
        for tensor in model.tensors {
            let start = clock.now
            let values = try model.dequantized(tensor.name)
            elapsed += clock.now - start
            let sums = try #require(reference.sums[tensor.name])
            var sum = 0.0, magnitudes = 0.0
            for value in values {
                sum += Double(value)
                magnitudes += Double(value.magnitude)
            }
            // The reference sums in float64 in another order; the elements themselves are exact.
            #expect(abs(sum - sums[0]) <= 1e-9 * sums[1] && abs(magnitudes - sums[1]) <= 1e-9 * sums[1], "\(tensor.name)")
        }
        print("GGUF: dequantized the 272 tensors of SmolLM2-135M-Instruct.Q4_1 in \(elapsed)")
    }
}
