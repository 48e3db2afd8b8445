import LinearAlgebra
import NN

/// The body of a LLaMA decoder (`LlamaModel`): `embed_tokens`, `layers.0…N−1`, `norm`.
public final class LlamaModel<Scalar: MatrixScalar>: Module {
    public let embedding: Embedding<Scalar>
    public let layers: ModuleList<Scalar, LlamaDecoderLayer<Scalar>>
    public let norm: RMSNorm<Scalar>

    public init(embedding: Embedding<Scalar>, layers: [LlamaDecoderLayer<Scalar>], norm: RMSNorm<Scalar>) {
        self.embedding = embedding
        self.layers = ModuleList(layers)
        self.norm = norm
    }

    public var localParameters: [(name: String, parameter: Parameter<Scalar>)] { [] }
    public var children: [(name: String, module: any Module<Scalar>)] {
        [("embed_tokens", embedding), ("layers", layers), ("norm", norm)]
    }
    public func replica() -> LlamaModel {
        LlamaModel(embedding: embedding.replica(), layers: layers.elements.map { $0.replica() }, norm: norm.replica())
    }
}

/// A LLaMA-family causal language model (`LlamaForCausalLM`) as a module tree with Hugging
/// Face's names: child `model` (``LlamaModel``), so parameter paths read
/// `model.layers.0.self_attn.q_proj.weight` and PEFT's module paths (`model.layers.0.mlp.up_proj`)
/// name the same modules, for LoRA injection unchanged. The LM head is tied to
/// `model.embed_tokens.weight` (or is the separate `lm_head` weight `V×d`).
///
/// Batched forward over `B` sequences of `T` tokens (`n = B·T` ids, sequence `b` is ids
/// `b·T ..< (b+1)·T`, each at positions `0..<T`): `H₀ = E[ids]` (`n×d`),
/// `H_{l+1} = layer_l(H_l)`, hidden states `norm(H_N)`, logits `norm(H_N)·Wᵀ` (`n×V`).
/// ``loss(tokens:targets:sequenceLength:accumulatingGradients:)`` is the mean next-token
/// cross-entropy, and its backward reaches every layer's input (the frozen base keeps no weight
/// gradients; trainable parameters, such as injected LoRA adapters, accumulate theirs).
public final class LlamaForCausalLM<Scalar: MatrixScalar>: Module {
    public let configuration: LlamaConfiguration
    public let model: LlamaModel<Scalar>
    /// `lm_head.weight: V×d`, when not tied.
    public let untiedHead: Parameter<Scalar>?
    /// A faster product of the head for few rows (decoding), same weights.
    public var decodingHead: (any LinearLayer<Scalar>)?
    private var sequenceLength = 0

    public init(
        configuration: LlamaConfiguration, model: LlamaModel<Scalar>, untiedHead: Parameter<Scalar>? = nil,
        decodingHead: (any LinearLayer<Scalar>)? = nil
    ) {
        precondition(untiedHead == nil || untiedHead!.value.shape == model.embedding.weight.value.shape,
                     "LlamaForCausalLM: lm_head \(untiedHead!.value.shapeDescription) differs from the embeddings \(model.embedding.weight.value.shapeDescription)")
        self.configuration = configuration
        self.model = model
        self.untiedHead = untiedHead
        self.decodingHead = decodingHead
    }

    public var localParameters: [(name: String, parameter: Parameter<Scalar>)] {
        untiedHead.map { [("lm_head.weight", $0)] } ?? []
    }
    public var children: [(name: String, module: any Module<Scalar>)] { [("model", model)] }
    public func replica() -> LlamaForCausalLM {
        LlamaForCausalLM(configuration: configuration, model: model.replica(), untiedHead: untiedHead?.replica(), decodingHead: decodingHead)
    }

    /// The decoder layers in order.
    public var layers: [LlamaDecoderLayer<Scalar>] { model.layers.elements }

    /// The head's weight `W: V×d` (the embedding table when tied).
    public var headWeight: Matrix<Scalar> { (untiedHead ?? model.embedding.weight).value }

    // MARK: Batched forward and backward

    /// `norm(H_N): n×d` for `tokens` (`n` ids, whole sequences of `sequenceLength`).
    public func hiddenStates(tokens: [Int], sequenceLength t: Int) -> Matrix<Scalar> {
        precondition(t > 0 && tokens.count % t == 0 && !tokens.isEmpty,
                     "LlamaForCausalLM: \(tokens.count) tokens are not whole sequences of \(t)")
        precondition(t <= configuration.contextLength,
                     "LlamaForCausalLM: sequences of \(t) exceed the context of \(configuration.contextLength)")
        sequenceLength = t
        var hidden = model.embedding.forward(tokens)
        for layer in layers { hidden = layer.forward(hidden, sequenceLength: t) }
        return model.norm.forward(hidden)
    }

    /// Logits `n×V` for `tokens` (whole sequences of `sequenceLength`).
    public func logits(tokens: [Int], sequenceLength t: Int) -> Matrix<Scalar> {
        projectHead(hiddenStates(tokens: tokens, sequenceLength: t))
    }

    /// `Z = H·Wᵀ` for hidden states `H: n×d`, on ``decodingHead`` when set and `n` is small.
    public func projectHead(_ hidden: Matrix<Scalar>) -> Matrix<Scalar> {
        if let decodingHead { return decodingHead.forward(hidden) }
        var logits = Matrix<Scalar>.unsafeUninitialized(hidden.rows, headWeight.rows)
        Matrix.gemm(hidden, headWeight, transposeB: .transposed, into: &logits)
        return logits
    }

    /// The cross-entropy of `targets` (one per token, `< 0` unscored; for next-token prediction
    /// `targets[i] = tokens[i+1]` within a sequence) under the logits of `tokens`, summed and
    /// counted (``ProjectedCrossEntropy``, mean = NLL / scored). With `accumulatingGradients`, the
    /// mean's backward runs through every layer and trainable parameters accumulate `∂L/∂θ`.
    /// The logits are never held whole (chunks of ``headRowsPerChunk``×V). Training's
    /// `CausalLanguageModel` requirement, word for word.
    public func loss(tokens: [Int], targets: [Int], sequenceLength t: Int, accumulatingGradients: Bool) -> ProjectedCrossEntropy<Scalar> {
        loss(tokens: tokens, targets: targets, sequenceLength: t, accumulatingGradients: accumulatingGradients,
             rowsPerChunk: Self.headRowsPerChunk, layerInputGradient: nil)
    }

    /// Rows of hidden states per product with the head, when whole logits are not needed: each
    /// product packs all of `W: V×d` (28 M weights for SmolLM2), so few rows are mostly packing
    /// (docs/PERFORMANCE.md, SmolLM2), while a chunk holds `rows×V` logits.
    public static var headRowsPerChunk: Int { 256 }

    /// ``loss(tokens:targets:sequenceLength:accumulatingGradients:)`` with the head computed
    /// `rowsPerChunk` rows at a time, and `layerInputGradient(l, ∂L/∂H_l)` (if given) seeing each
    /// layer's input gradient, `l = 0` being the embedding output.
    public func loss(
        tokens: [Int], targets: [Int], sequenceLength t: Int, accumulatingGradients: Bool, rowsPerChunk: Int,
        layerInputGradient: ((Int, Matrix<Scalar>) -> Void)?
    ) -> ProjectedCrossEntropy<Scalar> {
        precondition(targets.count == tokens.count, "LlamaForCausalLM.loss: \(targets.count) targets for \(tokens.count) tokens")
        precondition(!accumulatingGradients || !(untiedHead ?? model.embedding.weight).isTrainable,
                     "LlamaForCausalLM.loss: the head/embedding weight is trainable, but its gradient is not computed; freeze it")
        let hidden = hiddenStates(tokens: tokens, sequenceLength: t)
        let result = projectedCrossEntropy(
            hidden: hidden, weight: headWeight, targets: targets, rowsPerChunk: rowsPerChunk,
            computingGradient: accumulatingGradients)
        if let gradient = result.hiddenGradient { backward(gradient, layerInputGradient: layerInputGradient) }
        return result
    }

    /// The backward pass of the most recent ``hiddenStates(tokens:sequenceLength:)`` from
    /// `∂L/∂norm(H_N): n×d`: accumulates the trainable parameters' gradients and reports each
    /// layer's input gradient to `layerInputGradient`.
    public func backward(_ hiddenGradient: Matrix<Scalar>, layerInputGradient: ((Int, Matrix<Scalar>) -> Void)? = nil) {
        var gradient = model.norm.backward(hiddenGradient)
        for (index, layer) in layers.enumerated().reversed() {
            gradient = layer.backward(gradient)
            layerInputGradient?(index, gradient)
        }
        model.embedding.backward(gradient)
    }

    // MARK: Incremental forward

    /// Empty key/value caches, one per layer, for `capacity` positions.
    public func makeCaches(capacity: Int) -> [KeyValueCache<Scalar>] {
        let width = configuration.keyValueHeads * configuration.headSize
        return layers.map { _ in KeyValueCache(capacity: capacity, width: width) }
    }

    /// `norm(H_N): m×d` for `tokens` appended at positions `p ..< p+m` (`p` = the caches'
    /// count), extending `caches`: a prompt or a perplexity window in one call, then one token at
    /// a time. Row `i` equals the batched forward's row at position `p + i`. Runs `chunkSize`
    /// rows at a time (default: all at once); the layers keep nothing for a backward pass here,
    /// so a piece holds only its own activations while a layer runs, and larger pieces make
    /// larger GEMMs.
    @_specialize(where Scalar == Float)
    public func hiddenStates(appending tokens: [Int], caches: inout [KeyValueCache<Scalar>], chunkSize: Int = .max) -> Matrix<Scalar> {
        precondition(!tokens.isEmpty && caches.count == layers.count && chunkSize > 0,
                     "LlamaForCausalLM: \(tokens.count) tokens, \(caches.count) caches for \(layers.count) layers, chunks of \(chunkSize)")
        precondition(caches[0].count + tokens.count <= configuration.contextLength,
                     "LlamaForCausalLM: \(caches[0].count + tokens.count) positions exceed the context of \(configuration.contextLength)")
        var result = Matrix<Scalar>.unsafeUninitialized(tokens.count, configuration.hiddenSize)
        for start in stride(from: 0, to: tokens.count, by: chunkSize) {
            let rows = start..<min(start + chunkSize, tokens.count)
            var hidden = model.embedding.forward(Array(tokens[rows]))
            for (index, layer) in layers.enumerated() { hidden = layer.forward(hidden, cache: &caches[index]) }
            let normed = model.norm.forward(hidden)
            result.withUnsafeMutableBufferPointer { to in
                normed.withUnsafeBufferPointer { (to.baseAddress! + start * normed.columns).update(from: $0.baseAddress!, count: $0.count) }
            }
        }
        return result
    }

    /// Logits `V` of the next token after appending `tokens` to the caches (the head on the last row only).
    @_specialize(where Scalar == Float)
    public func nextTokenLogits(appending tokens: [Int], caches: inout [KeyValueCache<Scalar>]) -> [Scalar] {
        let hidden = hiddenStates(appending: tokens, caches: &caches)
        return projectHead(hidden[rows: (hidden.rows - 1)..<hidden.rows]).elements
    }
}
