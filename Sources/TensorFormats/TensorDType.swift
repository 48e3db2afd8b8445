/// A safetensors element type. LoRAKit converts the floating-point ones (`F16`, `BF16`, `F32`,
/// `F64`) to and from `Float`/`Double`; the others are carried as raw bytes (copied unchanged).
public enum TensorDType: String, Sendable, CaseIterable, Hashable {
    case bool = "BOOL"
    case uint8 = "U8"
    case int8 = "I8"
    case float8E5M2 = "F8_E5M2"
    case float8E4M3 = "F8_E4M3"
    case int16 = "I16"
    case uint16 = "U16"
    case float16 = "F16"
    case bfloat16 = "BF16"
    case int32 = "I32"
    case uint32 = "U32"
    case float32 = "F32"
    case float64 = "F64"
    case int64 = "I64"
    case uint64 = "U64"

    /// Bytes per element.
    public var byteCount: Int {
        switch self {
        case .bool, .uint8, .int8, .float8E5M2, .float8E4M3: 1
        case .int16, .uint16, .float16, .bfloat16: 2
        case .int32, .uint32, .float32: 4
        case .float64, .int64, .uint64: 8
        }
    }

    /// Whether LoRAKit converts this dtype to and from `Float`/`Double`.
    public var isConvertible: Bool {
        switch self {
        case .float16, .bfloat16, .float32, .float64: true
        default: false
        }
    }

    /// The relative spacing of the format, `ε = 2^(1 − p)` for `p` significand bits
    /// (`nil` for dtypes LoRAKit does not convert).
    public var machineEpsilon: Double? {
        switch self {
        case .float16: 0x1p-10
        case .bfloat16: 0x1p-7
        case .float32: 0x1p-23
        case .float64: 0x1p-52
        default: nil
        }
    }
}
