import Foundation
import LinearAlgebra
import NN
import TensorFormats

extension LlamaForCausalLM {
    /// The model in a GGUF file (`general.architecture = llama`), every parameter frozen,
    /// dequantized to `Scalar` one tensor at a time, `W_q`/`W_k` un-permuted into Hugging Face's
    /// row order. With `keepingQuantizedBlocks` (Float only) every Q4_1/Q8_0 projection and the
    /// head also keep the file's blocks for few-row products (``QuantizedLinear``). `projections`
    /// is the form every projection is built in as it is read (``ProjectionStorage``); the
    /// embedding, norms and head stay dense.
    public convenience init(gguf file: GGUFFile, keepingQuantizedBlocks: Bool = false, projections: ProjectionStorage = .float) throws(ModelError) {
        let configuration = try LlamaConfiguration(gguf: file)
        let source = GGUFWeightSource<Scalar>(
            file: file, configuration: configuration, keepsQuantizedBlocks: keepingQuantizedBlocks, projections: projections)
        try self.init(configuration: configuration, source: source)
        guard keepingQuantizedBlocks, Scalar.self == Float.self else { return }
        let headName = configuration.tiedEmbeddings ? "token_embd.weight" : "output.weight"
        let info: GGUFTensorInfo, raw: Data
        do { (info, raw) = (try file.info(headName), try file.rawBytes(headName)) } catch { throw .gguf(error) }
        guard let type = info.type.quantizedBlockType else { return }
        let blocks = QuantizedMatrix(type: type, rows: configuration.vocabularySize, columns: configuration.hiddenSize, blocks: raw)
        decodingHead = (QuantizedLinear(blocks: blocks, dense: asFloat(headWeight)) as any LinearLayer<Float>) as? any LinearLayer<Scalar>
    }

    /// The model in the GGUF file at `url` (see ``init(gguf:keepingQuantizedBlocks:projections:)``).
    public convenience init(ggufAt url: URL, keepingQuantizedBlocks: Bool = false, projections: ProjectionStorage = .float) throws(ModelError) {
        let file: GGUFFile
        do { file = try GGUFFile(contentsOf: url) } catch { throw .gguf(error) }
        try self.init(gguf: file, keepingQuantizedBlocks: keepingQuantizedBlocks, projections: projections)
    }

    /// The model in a Hugging Face directory (`save_pretrained`): `config.json` and `model.safetensors`.
    public convenience init(huggingFaceDirectory directory: URL) throws(ModelError) {
        let configuration = try LlamaConfiguration(configJSON: directory.appendingPathComponent("config.json"))
        let file: SafetensorsFile
        do { file = try SafetensorsFile(contentsOf: directory.appendingPathComponent("model.safetensors")) } catch { throw .tensorFile(error) }
        var resolved = configuration
        // A checkpoint saved with an lm_head despite the flag is untied in effect.
        if resolved.tiedEmbeddings && file.contains(LlamaTensorName.head) { resolved.tiedEmbeddings = false }
        try self.init(configuration: resolved, source: SafetensorsWeightSource<Scalar>(file: file))
    }
}

/// `Matrix<Scalar>` as `Matrix<Float>` where `Scalar` is Float (the same storage).
private func asFloat<Scalar: MatrixScalar>(_ matrix: Matrix<Scalar>) -> Matrix<Float> {
    if Scalar.self == Float.self { return unsafeBitCast(matrix, to: Matrix<Float>.self) }
    return matrix.converted(to: Float.self)
}
