import LinearAlgebra

/// How a LLaMA's tensors are named and laid out in Hugging Face's files and in GGUF files as
/// llama.cpp's converter writes them.
///
/// Names: `model.embed_tokens.weight` ↔ `token_embd.weight`, `model.norm.weight` ↔
/// `output_norm.weight`, `lm_head.weight` ↔ `output.weight`, and per layer `N`
/// `model.layers.N.{input_layernorm, self_attn.{q,k,v,o}_proj, post_attention_layernorm,
/// mlp.{gate,up,down}_proj}.weight` ↔ `blk.N.{attn_norm, attn_q, attn_k, attn_v, attn_output,
/// ffn_norm, ffn_gate, ffn_up, ffn_down}.weight`.
///
/// Rows: the converter reorders each head's rows of `W_q` and `W_k` from Hugging Face's
/// rotate-half layout (row `a·e/2 + i` is half `a` of pair `i`) to interleaved pairs (row
/// `2i + a`), llama.cpp's RoPE layout: rows `[h, 2, e/2] → [h, e/2, 2]` (`h` = the KV head
/// count for `W_k`). Every other tensor has the same rows in both.
public enum LlamaTensorLayout {
    /// The GGUF name of Hugging Face's `name` (other names are returned unchanged).
    public static func ggufName(_ name: String) -> String {
        switch name {
        case LlamaTensorName.embedding: return "token_embd.weight"
        case LlamaTensorName.norm: return "output_norm.weight"
        case LlamaTensorName.head: return "output.weight"
        default: break
        }
        let parts = name.split(separator: ".", maxSplits: 3)  // model, layers, N, rest
        guard parts.count == 4, parts[0] == "model", parts[1] == "layers" else { return name }
        let rest: String = switch parts[3] {
        case "input_layernorm.weight": "attn_norm.weight"
        case "self_attn.q_proj.weight": "attn_q.weight"
        case "self_attn.k_proj.weight": "attn_k.weight"
        case "self_attn.v_proj.weight": "attn_v.weight"
        case "self_attn.o_proj.weight": "attn_output.weight"
        case "post_attention_layernorm.weight": "ffn_norm.weight"
        case "mlp.gate_proj.weight": "ffn_gate.weight"
        case "mlp.up_proj.weight": "ffn_up.weight"
        case "mlp.down_proj.weight": "ffn_down.weight"
        default: String(parts[3])
        }
        return "blk.\(parts[2]).\(rest)"
    }

    /// For Hugging Face's `W_q`/`W_k` (by name, `rows` rows), the GGUF row each Hugging Face row
    /// is: HF row `head·e + a·e/2 + i` is GGUF row `head·e + 2i + a`; `nil` for other tensors.
    public static func ggufRows(ofHuggingFace name: String, rows: Int, configuration: LlamaConfiguration) -> [Int]? {
        let heads: Int
        if name.hasSuffix("self_attn.q_proj.weight") {
            heads = configuration.heads
        } else if name.hasSuffix("self_attn.k_proj.weight") {
            heads = configuration.keyValueHeads
        } else {
            return nil
        }
        let (e, half) = (rows / heads, rows / heads / 2)
        return (0..<rows).map { row in
            let (head, within) = row.quotientAndRemainder(dividingBy: e)
            let (a, i) = within.quotientAndRemainder(dividingBy: half)
            return head * e + 2 * i + a
        }
    }

    /// Hugging Face's `matrix` (tensor `name`) in GGUF's row order: row `ggufRows[i]` of the
    /// result is row `i` of `matrix` (the matrix itself for tensors GGUF does not reorder).
    public static func ggufOrdered<Scalar>(_ matrix: Matrix<Scalar>, name: String, configuration: LlamaConfiguration) -> Matrix<Scalar> {
        guard let order = ggufRows(ofHuggingFace: name, rows: matrix.rows, configuration: configuration) else { return matrix }
        var inverse = [Int](repeating: 0, count: order.count)
        for (row, ggufRow) in order.enumerated() { inverse[ggufRow] = row }
        return matrix.gatheringRows(inverse)
    }
}

extension LlamaForCausalLM {
    /// Every weight by its Hugging Face name, in Hugging Face's layout, as `save_pretrained`
    /// writes them (no `lm_head.weight` when tied): the parameters of a model without adapters.
    /// Norm gains are `1×d`, saved as `[d]`.
    public var huggingFaceWeights: [(name: String, value: Matrix<Scalar>)] {
        namedParameters().map { ($0.path, $0.parameter.value) }
    }
}
