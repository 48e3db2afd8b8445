import FileSafety
import Foundation
import LinearAlgebra
import Models
import TensorFormats

/// The file a merged model is written as.
public enum MergedModelFormat: Sendable, Equatable {
    /// A Hugging Face directory (`save_pretrained`'s): `config.json` and `model.safetensors`
    /// with Hugging Face's names and row order, every tensor in `dtype` (F32, F16 or BF16).
    case huggingFace(TensorDType)
    /// A GGUF file with the source GGUF's metadata (tokenizer included), tensor names and order,
    /// `W_q`/`W_k` in GGUF's row order; matrices in `type` (F32 or F16), vectors (norm gains)
    /// in F32 as llama.cpp's converter keeps them; `general.file_type` says which.
    case gguf(GGMLType)

    /// The dtype a weight of `rank` dimensions is stored in.
    func dtype(dimensions: Int) -> TensorDType {
        switch self {
        case let .huggingFace(dtype): dtype
        case let .gguf(type): type == .f16 && dimensions == 2 ? .float16 : .float32
        }
    }
}

/// Folds a PEFT adapter into a LLaMA's weights for deployment: `W' = W + x·s·B·A` (or DoRA's
/// `diag(m/n)·(W + x·s·B·A)`) per adapted module, formed in `Double` from the loaded base weights
/// and rounded once to the output's dtype, each merged weight certified as ``AdapterMerge``
/// certifies it (``MergedWeightReport``); every other weight is rounded to the output's dtype.
///
/// The base is the model as loaded (a quantized GGUF's weights dequantized to Float, which is
/// exact), so the merged model computes what the base with the unmerged adapter computes, up to
/// the rounding the reports give.
public enum ModelMerge {
    /// The files of the merged model: a Hugging Face directory's two files, or a GGUF file.
    public enum Files {
        case huggingFace(configJSON: Data, weights: SafetensorsWriter)
        case gguf(GGUFWriter)

        /// Writes them atomically: the directory's files are renamed into place together (the
        /// directory created if missing), the GGUF file over `url`.
        public func write(to url: URL) throws(FileSystemError) {
            let files = StagedFiles()
            switch self {
            case let .huggingFace(configJSON, weights):
                try files.createDirectory(url)
                try weights.stage(url.appendingPathComponent(ModelMerge.weightsFileName), in: files)
                try files.stage(url.appendingPathComponent(ModelMerge.configFileName), data: configJSON)
            case let .gguf(writer):
                try writer.stage(url, in: files)
            }
            try files.commit()
        }
    }

    /// The names of a Hugging Face directory's files.
    public static let weightsFileName = "model.safetensors", configFileName = "config.json"

    /// The merged model in `format` and a report per merged weight, in the model's order.
    /// `model` is the base without adapters; `source`, the GGUF it was loaded from, is required
    /// for GGUF output (its metadata and any tensor the model does not hold are copied).
    /// Throws for an adapter module the model lacks or whose factors do not fit its weight, for
    /// adapters ``AdapterMerge`` refuses, and for a merged entry beyond the output's range.
    public static func merge(
        model: LlamaForCausalLM<Float>, adapter: PEFTAdapter<Double>, scale: Double = 1, format: MergedModelFormat,
        source: GGUFFile? = nil
    ) throws(PEFTAdapterError) -> (files: Files, reports: [MergedWeightReport]) {
        try AdapterMerge.requireMergeable(adapter)
        guard !adapter.configuration.fanInFanOut else {
            throw .unsupportedForMerge(key: "fan_in_fan_out", value: "true")
        }
        let weights = model.huggingFaceWeights
        precondition(weights.allSatisfy { $0.name.hasSuffix(".weight") && !$0.name.contains("lora_") },
                     "ModelMerge: the model must be the base without adapters")
        let byName = Dictionary(uniqueKeysWithValues: weights.map { ($0.name, $0.value) })
        for path in adapter.modulePaths {
            let key = PEFTKeys.baseWeight(path)
            guard let w = byName[key], key.hasSuffix("_proj.weight") else {
                let name = String(path.split(separator: ".").last ?? "")
                throw .moduleNotInModel(file: "adapter", module: path,
                                        example: weights.map(\.name).first { $0.hasSuffix(".\(name).weight") }.map { String($0.dropLast(7)) })
            }
            let factors = adapter.modules[path]!
            guard factors.b.rows == w.rows && factors.a.columns == w.columns else {
                throw .shapeMismatch(file: "adapter", key: "\(PEFTKeys.loraB(path)) · \(PEFTKeys.loraA(path))",
                                     shape: "[\(factors.b.rows), \(factors.a.columns)]", otherKey: key, otherShape: "[\(w.rows), \(w.columns)]")
            }
        }
        let adapted = Dictionary(uniqueKeysWithValues: adapter.modulePaths.map { (PEFTKeys.baseWeight($0), $0) })
        var reports: [MergedWeightReport] = []
        var rounded: [(name: String, value: Matrix<Float>, shape: [Int], dtype: TensorDType)] = []
        for (name, w) in weights {
            let shape = name.hasSuffix("norm.weight") ? [w.columns] : [w.rows, w.columns]
            let dtype = format.dtype(dimensions: shape.count)
            if let path = adapted[name] {
                let base = w.converted(to: Double.self)
                let delta = try AdapterMerge.delta(forModule: path, of: adapter, base: base, scale: scale, key: name)
                let (merged, report) = try AdapterMerge.merged(base, delta, dtype: dtype, key: name)
                reports.append(report)
                rounded.append((name, merged.converted(to: Float.self), shape, dtype))
            } else {
                rounded.append((name, try roundedWeight(w, to: dtype, key: name), shape, dtype))
            }
        }
        switch format {
        case let .huggingFace(dtype):
            var writer = SafetensorsWriter()
            for tensor in rounded { writer.add(tensor.name, elements: tensor.value.elements, shape: tensor.shape, as: tensor.dtype) }
            return (.huggingFace(configJSON: model.configuration.configJSON(dtype: dtype.torchName), weights: writer), reports)
        case let .gguf(type):
            guard let source else { preconditionFailure("ModelMerge: GGUF output needs the source GGUF") }
            return (.gguf(try gguf(rounded, configuration: model.configuration, source: source, type: type)), reports)
        }
    }

    /// `weight` rounded to `dtype` (exactly representable in Float), or an overflow naming `key`.
    private static func roundedWeight(_ weight: Matrix<Float>, to dtype: TensorDType, key: String) throws(PEFTAdapterError) -> Matrix<Float> {
        guard dtype != .float32 else { return weight }
        let values = dtype.rounded(weight.elements)
        guard values.allSatisfy(\.isFinite) else { throw .mergeOverflow(key: key, dtype: dtype.rawValue) }
        return Matrix(rows: weight.rows, columns: weight.columns, elements: values)
    }

    /// The GGUF file: `source`'s metadata with `general.file_type` set (0 all F32, 1 mostly F16),
    /// its tensors in its order, each of the model's by its GGUF name and row order in its dtype,
    /// any other copied unchanged.
    private static func gguf(
        _ weights: [(name: String, value: Matrix<Float>, shape: [Int], dtype: TensorDType)], configuration: LlamaConfiguration,
        source: GGUFFile, type: GGMLType
    ) throws(PEFTAdapterError) -> GGUFWriter {
        var writer = GGUFWriter(metadata: source.metadataKeys.map { ($0, source.metadata[$0]!) })
        writer.setMetadata("general.file_type", .uint32(type == .f16 ? 1 : 0))
        let byGGUFName = Dictionary(uniqueKeysWithValues: weights.map { (LlamaTensorLayout.ggufName($0.name), $0) })
        for info in source.tensors {
            if let weight = byGGUFName[info.name] {
                precondition(weight.shape == info.shape, "ModelMerge: \(weight.name) \(weight.shape) was loaded from \(info.name) \(info.shape)")
                let ordered = LlamaTensorLayout.ggufOrdered(weight.value, name: weight.name, configuration: configuration)
                writer.add(info.name, elements: ordered.elements, shape: weight.shape, as: weight.dtype == .float16 ? .f16 : .f32)
            } else {
                guard let bytes = try? source.rawBytes(info.name) else { preconditionFailure("ModelMerge: \(info.name) is listed but unreadable") }
                writer.addRaw(info.name, shape: info.shape, type: info.type, bytes: bytes)
            }
        }
        return writer
    }
}

extension TensorDType {
    /// PyTorch's name of the dtype, as `config.json` gives it: `"float32"`, `"float16"`, `"bfloat16"`.
    var torchName: String {
        switch self {
        case .float16: "float16"
        case .bfloat16: "bfloat16"
        case .float64: "float64"
        default: "float32"
        }
    }
}
