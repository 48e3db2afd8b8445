/// A ggml tensor type: how a GGUF tensor's elements are stored. The raw value is the type id
/// written in the file.
///
/// Quantized types store elements in blocks of ``blockSize`` consecutive elements along `ne[0]`
/// (a row), each block ``bytesPerBlock`` bytes; plain types are blocks of one element. The table
/// holds every type whose layout ggml publishes, so any GGUF tensor's bytes can be located and
/// validated; ``isDequantizable`` says which ones LoRAKit converts to `Float`.
public enum GGMLType: UInt32, Sendable, CaseIterable, CustomStringConvertible {
    case f32 = 0
    case f16 = 1
    case q4_0 = 2
    case q4_1 = 3
    // Ids 4 and 5 (Q4_2, Q4_3) are not ggml types; tensors with them are refused as unknown.
    case q5_0 = 6
    case q5_1 = 7
    case q8_0 = 8
    case q8_1 = 9
    case q2_K = 10
    case q3_K = 11
    case q4_K = 12
    case q5_K = 13
    case q6_K = 14
    case q8_K = 15
    case iq2_XXS = 16
    case iq2_XS = 17
    case iq3_XXS = 18
    case iq1_S = 19
    case iq4_NL = 20
    case iq3_S = 21
    case iq2_S = 22
    case iq4_XS = 23
    case i8 = 24
    case i16 = 25
    case i32 = 26
    case i64 = 27
    case f64 = 28
    case iq1_M = 29
    case bf16 = 30
    case tq1_0 = 34
    case tq2_0 = 35
    case mxfp4 = 39
    case nvfp4 = 40
    case q1_0 = 41

    /// The elements in one K-quant super-block (ggml's `QK_K`).
    static let superBlock = 256

    /// The number of consecutive elements stored together (1 for plain types).
    public var blockSize: Int { layout.elements }

    /// The size in bytes of one block.
    public var bytesPerBlock: Int { layout.bytes }

    /// The name ggml gives the type, e.g. `"Q4_K"`.
    public var description: String {
        switch self {
        case .f32: "F32"
        case .f16: "F16"
        case .q4_0: "Q4_0"
        case .q4_1: "Q4_1"
        case .q5_0: "Q5_0"
        case .q5_1: "Q5_1"
        case .q8_0: "Q8_0"
        case .q8_1: "Q8_1"
        case .q2_K: "Q2_K"
        case .q3_K: "Q3_K"
        case .q4_K: "Q4_K"
        case .q5_K: "Q5_K"
        case .q6_K: "Q6_K"
        case .q8_K: "Q8_K"
        case .iq2_XXS: "IQ2_XXS"
        case .iq2_XS: "IQ2_XS"
        case .iq3_XXS: "IQ3_XXS"
        case .iq1_S: "IQ1_S"
        case .iq4_NL: "IQ4_NL"
        case .iq3_S: "IQ3_S"
        case .iq2_S: "IQ2_S"
        case .iq4_XS: "IQ4_XS"
        case .i8: "I8"
        case .i16: "I16"
        case .i32: "I32"
        case .i64: "I64"
        case .f64: "F64"
        case .iq1_M: "IQ1_M"
        case .bf16: "BF16"
        case .tq1_0: "TQ1_0"
        case .tq2_0: "TQ2_0"
        case .mxfp4: "MXFP4"
        case .nvfp4: "NVFP4"
        case .q1_0: "Q1_0"
        }
    }

    /// Whether ``GGUFDequantization`` converts this type to `Float`.
    public var isDequantizable: Bool { Self.dequantizable.contains(self) }

    /// The types LoRAKit dequantizes.
    public static let dequantizable: [GGMLType] = [.f32, .f16, .bf16, .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q4_K, .q6_K]

    /// Block size and bytes per block, as ggml's `ggml-common.h` lays the blocks out.
    private var layout: (elements: Int, bytes: Int) {
        let k = Self.superBlock
        return switch self {
        case .f32, .i32: (1, 4)
        case .f16, .bf16, .i16: (1, 2)
        case .i8: (1, 1)
        case .f64, .i64: (1, 8)
        case .q4_0: (32, 2 + 16)
        case .q4_1: (32, 2 + 2 + 16)
        case .q5_0: (32, 2 + 4 + 16)
        case .q5_1: (32, 2 + 2 + 4 + 16)
        case .q8_0: (32, 2 + 32)
        case .q8_1: (32, 4 + 4 + 32)
        case .q2_K: (k, 2 + 2 + k / 16 + k / 4)
        case .q3_K: (k, 2 + k / 4 + k / 8 + 12)
        case .q4_K: (k, 2 + 2 + 12 + k / 2)
        case .q5_K: (k, 2 + 2 + 12 + k / 8 + k / 2)
        case .q6_K: (k, k / 2 + k / 4 + k / 16 + 2)
        case .q8_K: (k, 4 + k + k / 8)
        case .iq2_XXS: (k, 2 + k / 4)
        case .iq2_XS: (k, 2 + k / 4 + k / 32)
        case .iq3_XXS: (k, 2 + k / 4 + k / 8)
        case .iq1_S: (k, 2 + k / 8 + k / 16)
        case .iq4_NL: (32, 2 + 16)
        case .iq3_S: (k, 2 + k / 4 + k / 8 + k / 32 + 4)
        case .iq2_S: (k, 2 + k / 4 + k / 16)
        case .iq4_XS: (k, 2 + 2 + k / 2 + k / 64)
        case .iq1_M: (k, k / 8 + k / 16 + k / 32)
        case .tq1_0: (k, 2 + 4 * 13)
        case .tq2_0: (k, 2 + 64)
        case .mxfp4: (32, 1 + 16)
        case .nvfp4: (64, 4 + 32)
        case .q1_0: (128, 2 + 16)
        }
    }
}
