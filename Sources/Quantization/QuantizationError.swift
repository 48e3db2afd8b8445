/// Why quantized data could not be built.
public enum QuantizationError: Error, Equatable, Sendable, CustomStringConvertible {
    /// An input to quantize is NaN or infinite (it has no absmax to scale by).
    case nonFiniteValue(row: Int, column: Int)
    /// Stored parts do not fit the shape: `what` should have `expected` entries.
    case countMismatch(what: String, expected: Int, actual: Int)

    public var description: String {
        switch self {
        case let .nonFiniteValue(row, column):
            "cannot quantize: element [\(row), \(column)] is not finite"
        case let .countMismatch(what, expected, actual):
            "quantized data: \(actual) \(what), expected \(expected)"
        }
    }
}
