import Foundation
import LinearAlgebra
import Testing
import TensorFormats

/// The committed fixture at `path` under Fixtures/ (written by scripts/fixtures/make_llama_fixtures.py).
func fixture(_ path: String) -> URL {
    Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent(path)
}

/// tiny_llama/reference.json.
struct TinyReference: Decodable {
    struct Run: Decodable {
        struct Sequence: Decodable { var mean_nll: Double? }
        var greedy_ids: [Int]
        var greedy_prompt: [Int]
        var grad_loss_len16: Double
        var len7: Sequence
        var len16: Sequence
    }

    var f64: Run
    var f32: Run
    var lora: [String: Double]
    var q4_1: [String: JSONNumberOrIDs]
    var sequences: [String: [Int]]

    static let shared: TinyReference = try! JSONDecoder().decode(
        TinyReference.self, from: Data(contentsOf: fixture("tiny_llama/reference.json")))

    var len16: [Int] { sequences["len16"]! }
}

/// A value of `q4_1` in reference.json: ids or a number.
enum JSONNumberOrIDs: Decodable {
    case ids([Int]), number(Double)
    init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let ids = try? container.decode([Int].self) { self = .ids(ids) } else { self = .number(try container.decode(Double.self)) }
    }
    var ids: [Int]? { if case let .ids(ids) = self { ids } else { nil } }
}

/// smollm2/reference.json (transformers on the real GGUF).
struct SmolLM2Reference: Decodable {
    struct Perplexity: Decodable {
        var ppl: Double
        var nll_sum: Double
        var scored_tokens: Int
    }

    struct Prompt: Decodable {
        var text: String
        var ids: [Int]
        var greedy_ids: [Int]
    }

    var text_ids: [Int]
    var ppl_c256: Perplexity
    var ppl_c64: Perplexity
    var plain_prompt: Prompt
    var chat_prompt: Prompt

    static let shared: SmolLM2Reference = try! JSONDecoder().decode(
        SmolLM2Reference.self, from: Data(contentsOf: fixture("smollm2/reference.json")))
}

/// Tensors of a reference safetensors file by key, as matrices (`[n]` → 1×n).
struct ReferenceTensors {
    let file: SafetensorsFile

    init(_ path: String) { file = try! SafetensorsFile(contentsOf: fixture(path)) }

    func matrix<Scalar: MatrixScalar>(_ key: String, as _: Scalar.Type = Scalar.self) -> Matrix<Scalar> {
        let info = try! file.info(key)
        let values = try! file.elements(key, as: Double.self)
        let (rows, columns) = info.shape.count == 2 ? (info.shape[0], info.shape[1]) : (1, info.shape.reduce(1, *))
        return Matrix(rows: rows, columns: columns, elements: values.map { Scalar($0) })
    }
}

/// `max |a − b|` over the elements, in Double.
func maxDifference<A: MatrixScalar, B: MatrixScalar>(_ a: Matrix<A>, _ b: Matrix<B>) -> Double {
    precondition(a.shape == b.shape, "maxDifference: \(a.shapeDescription) vs \(b.shapeDescription)")
    return zip(a.elements, b.elements).reduce(0) { max($0, abs(Double($1.0) - Double($1.1))) }
}

/// Next-token targets of one sequence: `targets[i] = ids[i+1]`, the last unscored.
func nextTokenTargets(_ ids: [Int]) -> [Int] { Array(ids.dropFirst()) + [-1] }
