import Foundation

/// A weight matrix of a transformer layer that LoRA can adapt, stored `out×in` as in PyTorch.
public enum AdaptedProjection: String, CaseIterable, Sendable, Codable {
    case q, k, v, o, up, down, gate

    /// Its shape `d×k` for model width `d_model` and MLP width `ffn`: `q, k, v, o` are
    /// `d_model×d_model`, `up` and `gate` are `ffn×d_model`, `down` is `d_model×ffn`.
    public func shape(dModel: Int, ffn: Int?) -> (rows: Int, columns: Int)? {
        switch self {
        case .q, .k, .v, .o: (dModel, dModel)
        case .up, .gate: ffn.map { ($0, dModel) }
        case .down: ffn.map { (dModel, $0) }
        }
    }
}

/// A transformer's size: width `d_model`, number of layers, and MLP width when known.
public struct TransformerShape: Sendable, Equatable {
    /// A short lowercase name for command lines, e.g. `llama-7b`.
    public var id: String
    public var name: String
    public var dModel: Int
    public var layers: Int
    public var ffn: Int?

    /// A model called `name` (command-line `id`) of `layers` layers of width `dModel`, with an MLP
    /// of width `ffn` if given.
    public init(id: String? = nil, name: String, dModel: Int, layers: Int, ffn: Int? = nil) {
        self.id = id ?? name.lowercased().replacingOccurrences(of: " ", with: "-")
        self.name = name
        self.dModel = dModel
        self.layers = layers
        self.ffn = ffn
    }

    /// The models of the parameter-efficiency table: GPT-2 Small 768/12, Medium 1024/24, Large 1280/36, LLaMA-7B 4096/32,
    /// LLaMA-13B 5120/40 (MLP widths: GPT-2 4·d_model, LLaMA 11008 and 13824).
    public static let seedModels: [TransformerShape] = [
        TransformerShape(id: "gpt2-small", name: "GPT-2 Small", dModel: 768, layers: 12, ffn: 3072),
        TransformerShape(id: "gpt2-medium", name: "GPT-2 Medium", dModel: 1024, layers: 24, ffn: 4096),
        TransformerShape(id: "gpt2-large", name: "GPT-2 Large", dModel: 1280, layers: 36, ffn: 5120),
        TransformerShape(id: "llama-7b", name: "LLaMA-7B", dModel: 4096, layers: 32, ffn: 11008),
        TransformerShape(id: "llama-13b", name: "LLaMA-13B", dModel: 5120, layers: 40, ffn: 13824),
    ]

    /// GPT-3 175B: d_model 12288, 96 layers, MLP width 4·12288.
    public static let gpt3 = TransformerShape(id: "gpt3-175b", name: "GPT-3 175B", dModel: 12288, layers: 96, ffn: 49152)

    /// Every preset: the table's models, then GPT-3.
    public static let presets: [TransformerShape] = seedModels + [gpt3]
}

/// A problem with a parameter- or memory-table request from outside.
public enum ParameterTableError: Error, Equatable, Sendable, CustomStringConvertible {
    case noTargets
    case missingFFN(target: String)
    case notPositive(name: String, value: Double)
    case fractionOutOfRange(Double)
    /// The sizes are too large to tabulate: a count or a byte total would overflow.
    case tooLarge(model: String)

    public var description: String {
        switch self {
        case .noTargets:
            "no target matrices were given"
        case let .missingFFN(target):
            "target '\(target)' is an MLP matrix: the model's MLP width is needed"
        case let .notPositive(name, value):
            "\(name) must be positive, got \(String(format: "%g", value))"
        case let .fractionOutOfRange(value):
            "the adapted fraction must be in (0, 1], got \(value)"
        case let .tooLarge(model):
            "\(model): too large to tabulate (the counts overflow); give smaller sizes"
        }
    }
}

/// One row of the "parameter efficiency at scale" table (`lora params`).
public struct LoRAParameterRow: Codable, Sendable, Equatable {
    public var model: String
    public var dModel: Int
    public var layers: Int
    public var rank: Int
    /// `layers · Σ_targets d·k`: the weights full fine-tuning trains.
    public var fullParameters: Int
    /// `layers · Σ_targets r·(d + k)`: the LoRA factors `B: d×r`, `A: r×k`.
    public var loraParameters: Int
    /// `loraParameters / fullParameters`, a fraction (`lora params` prints it in percent).
    public var ratio: Double

    enum CodingKeys: String, CodingKey {
        case model, layers, rank, ratio
        case dModel = "d_model"
        case fullParameters = "full_parameters"
        case loraParameters = "lora_parameters"
    }

    /// The row of `model` adapting `targets` in every layer at rank `r` (a `d×k` matrix has
    /// `d·k` weights and `r·(d + k)` LoRA parameters).
    public init(
        model: TransformerShape, rank r: Int, targets: [AdaptedProjection] = [.q, .k, .v, .o]
    ) throws(ParameterTableError) {
        guard r > 0 else { throw .notPositive(name: "rank", value: Double(r)) }
        guard model.dModel > 0 else { throw .notPositive(name: "d_model", value: Double(model.dModel)) }
        guard model.layers > 0 else { throw .notPositive(name: "layers", value: Double(model.layers)) }
        if let ffn = model.ffn, ffn <= 0 { throw .notPositive(name: "ffn", value: Double(ffn)) }
        guard !targets.isEmpty else { throw .noTargets }
        var (full, lora) = (0, 0)
        for target in targets {
            guard let (d, k) = target.shape(dModel: model.dModel, ffn: model.ffn) else {
                throw .missingFFN(target: target.rawValue)
            }
            full = try Self.checked(full, plus: Self.checked(d, times: k, model: model.name), model: model.name)
            let adapter = try Self.checked(r, times: Self.checked(d, plus: k, model: model.name), model: model.name)
            lora = try Self.checked(lora, plus: adapter, model: model.name)
        }
        self.model = model.name
        dModel = model.dModel
        layers = model.layers
        rank = r
        fullParameters = try Self.checked(full, times: model.layers, model: model.name)
        loraParameters = try Self.checked(lora, times: model.layers, model: model.name)
        ratio = Double(loraParameters) / Double(fullParameters)
    }

    /// `r·(d + k)`: the parameters of `B: d×r` and `A: r×k` adapting one `d×k` matrix.
    public static func loraParameters(rows d: Int, columns k: Int, rank r: Int) -> Int { r * (d + k) }

    private static func checked(_ a: Int, times b: Int, model: String) throws(ParameterTableError) -> Int {
        let (product, overflow) = a.multipliedReportingOverflow(by: b)
        if overflow { throw .tooLarge(model: model) }
        return product
    }

    private static func checked(_ a: Int, plus b: Int, model: String) throws(ParameterTableError) -> Int {
        let (sum, overflow) = a.addingReportingOverflow(b)
        if overflow { throw .tooLarge(model: model) }
        return sum
    }
}
