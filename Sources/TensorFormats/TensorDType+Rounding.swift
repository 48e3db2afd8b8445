extension TensorDType {
    /// `elements`, each rounded to this dtype (nearest, ties to even), as the safetensors writer
    /// stores them; overflow gives ±∞.
    public func rounded<T: TensorScalar>(_ elements: [T]) -> [T] {
        precondition(isConvertible, "TensorDType.rounded: \(rawValue) is not a floating-point dtype")
        return ElementCoding.encode(elements, as: self).withUnsafeBytes { raw in
            ElementCoding.decode(raw, dtype: self, count: elements.count)
        }
    }

    /// `value` rounded to this dtype (nearest, ties to even), as the safetensors writer stores it.
    public func rounded(_ value: Double) -> Double {
        switch self {
        case .float64: value
        case .float32: Double(Float(value))
        case .float16: Double(Float16(value))
        case .bfloat16: Double(Float(bitPattern: UInt32(ElementCoding.bfloat16Bits(ElementCoding.floatRoundedToOdd(value))) << 16))
        default: preconditionFailure("TensorDType.rounded: \(rawValue) is not a floating-point dtype")
        }
    }

    /// The unit in the last place of `value` (a value of this dtype): the gap to the next larger
    /// magnitude, `2^(e − p + 1)` for exponent `e` and `p` significand bits (constant below the normal range).
    public func unitInLastPlace(of value: Double) -> Double {
        switch self {
        case .float64: value.ulp
        case .float32: Double(Float(value).ulp)
        case .float16: Double(Float16(value).ulp)
        case .bfloat16: Double(Float(value).ulp) * 65536
        default: preconditionFailure("TensorDType.unitInLastPlace: \(rawValue) is not a floating-point dtype")
        }
    }
}
