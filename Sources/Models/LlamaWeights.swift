import LinearAlgebra
import NN

/// Where a loader finds a LLaMA's weights by Hugging Face name (`model.layers.0.self_attn.q_proj.weight`),
/// already in Hugging Face's layout; one tensor at a time, so loading never holds a second copy.
protocol LlamaWeightSource<Scalar> {
    associatedtype Scalar: MatrixScalar
    /// The file's path, for errors.
    var path: String { get }
    /// The tensor `name` as a `rows×columns` matrix (a vector as `1×columns`); throws when it is
    /// missing or has another shape.
    func matrix(_ name: String, rows: Int, columns: Int) throws(ModelError) -> Matrix<Scalar>
    /// Whether the file has `name`.
    func contains(_ name: String) -> Bool
    /// The projection `name` (`out×in`): a frozen ``Linear`` unless the source has a faster form.
    func linear(_ name: String, out: Int, in: Int) throws(ModelError) -> any LinearLayer<Scalar>
}

extension LlamaWeightSource {
    func linear(_ name: String, out: Int, in: Int) throws(ModelError) -> any LinearLayer<Scalar> {
        Linear(weight: try matrix(name, rows: out, columns: `in`))
    }
}

/// Hugging Face's tensor names.
enum LlamaTensorName {
    static let embedding = "model.embed_tokens.weight"
    static let norm = "model.norm.weight"
    static let head = "lm_head.weight"

    static func layer(_ index: Int, _ suffix: String) -> String { "model.layers.\(index).\(suffix)" }
}

extension LlamaForCausalLM {
    /// Builds the module tree from `source`, every parameter frozen (the base of LoRA).
    convenience init(configuration c: LlamaConfiguration, source: some LlamaWeightSource<Scalar>) throws(ModelError) {
        let (d, f, q, kv) = (c.hiddenSize, c.intermediateSize, c.heads * c.headSize, c.keyValueHeads * c.headSize)
        let rotary = RotaryEmbedding<Scalar>(headSize: c.headSize, base: c.ropeBase, maximumPositions: c.contextLength)
        let epsilon = Scalar(c.rmsNormEpsilon)
        func norm(_ name: String) throws(ModelError) -> RMSNorm<Scalar> {
            RMSNorm(gain: Parameter(try source.matrix(name, rows: 1, columns: d), trainable: false), epsilon: epsilon)
        }
        var layers: [LlamaDecoderLayer<Scalar>] = []
        for index in 0..<c.layers {
            let name = { (suffix: String) in LlamaTensorName.layer(index, suffix) }
            let attention = GroupedQueryAttention(
                query: try source.linear(name("self_attn.q_proj.weight"), out: q, in: d),
                key: try source.linear(name("self_attn.k_proj.weight"), out: kv, in: d),
                value: try source.linear(name("self_attn.v_proj.weight"), out: kv, in: d),
                output: try source.linear(name("self_attn.o_proj.weight"), out: d, in: q),
                heads: c.heads, keyValueHeads: c.keyValueHeads, rotary: rotary)
            let mlp = SwiGLU(
                gate: try source.linear(name("mlp.gate_proj.weight"), out: f, in: d),
                up: try source.linear(name("mlp.up_proj.weight"), out: f, in: d),
                down: try source.linear(name("mlp.down_proj.weight"), out: d, in: f))
            layers.append(LlamaDecoderLayer(
                inputNorm: try norm(name("input_layernorm.weight")), attention: attention,
                postAttentionNorm: try norm(name("post_attention_layernorm.weight")), mlp: mlp))
        }
        let embedding = Embedding(weight: Parameter(try source.matrix(LlamaTensorName.embedding, rows: c.vocabularySize, columns: d), trainable: false))
        let head = c.tiedEmbeddings
            ? nil : Parameter(try source.matrix(LlamaTensorName.head, rows: c.vocabularySize, columns: d), trainable: false)
        self.init(
            configuration: c, model: LlamaModel(embedding: embedding, layers: layers, norm: try norm(LlamaTensorName.norm)),
            untiedHead: head)
        setTrainable(false)
    }
}

/// `Matrix<Float>` as `Matrix<Scalar>`: the same storage for Float, converted for Double.
func converting<Scalar: MatrixScalar>(_ matrix: Matrix<Float>) -> Matrix<Scalar> {
    if Scalar.self == Float.self { return unsafeBitCast(matrix, to: Matrix<Scalar>.self) }
    return matrix.converted(to: Scalar.self)
}
