/// The type of a GGUF metadata value; the raw value is the `u32` type id written in the file.
public enum GGUFValueType: UInt32, Sendable, CaseIterable, CustomStringConvertible {
    case uint8 = 0, int8 = 1, uint16 = 2, int16 = 3, uint32 = 4, int32 = 5, float32 = 6, bool = 7
    case string = 8, array = 9, uint64 = 10, int64 = 11, float64 = 12

    /// The type's name in the GGUF specification, e.g. `"uint32"`.
    public var description: String {
        switch self {
        case .uint8: "uint8"
        case .int8: "int8"
        case .uint16: "uint16"
        case .int16: "int16"
        case .uint32: "uint32"
        case .int32: "int32"
        case .float32: "float32"
        case .bool: "bool"
        case .string: "string"
        case .array: "array"
        case .uint64: "uint64"
        case .int64: "int64"
        case .float64: "float64"
        }
    }

    /// The fewest bytes one value of this type takes in the file: its fixed size, the `u64`
    /// length of a string, the `u32` element type and `u64` count of an array. Bounds every count
    /// by the bytes left before anything is allocated.
    var minimumEncodedSize: Int {
        switch self {
        case .uint8, .int8, .bool: 1
        case .uint16, .int16: 2
        case .uint32, .int32, .float32: 4
        case .uint64, .int64, .float64, .string: 8
        case .array: 12
        }
    }
}

/// One GGUF metadata value.
///
/// Scalars are little-endian of their type's width; `bool` is one byte, 0 or 1; `string` is a
/// `u64` byte length then UTF-8 bytes (no terminator); `array` is a `u32` element type, a `u64`
/// count, then the elements back to back (see ``GGUFArray``).
public enum GGUFValue: Sendable, Equatable {
    case uint8(UInt8)
    case int8(Int8)
    case uint16(UInt16)
    case int16(Int16)
    case uint32(UInt32)
    case int32(Int32)
    case uint64(UInt64)
    case int64(Int64)
    case float32(Float)
    case float64(Double)
    case bool(Bool)
    case string(String)
    case array(GGUFArray)

    /// The value's type.
    public var type: GGUFValueType {
        switch self {
        case .uint8: .uint8
        case .int8: .int8
        case .uint16: .uint16
        case .int16: .int16
        case .uint32: .uint32
        case .int32: .int32
        case .uint64: .uint64
        case .int64: .int64
        case .float32: .float32
        case .float64: .float64
        case .bool: .bool
        case .string: .string
        case .array: .array
        }
    }

    /// The type as text, arrays with their element type: `"uint32"`, `"array of string"`.
    public var typeDescription: String {
        if case let .array(array) = self { return array.typeDescription }
        return type.description
    }

    /// The value of any integer type, `nil` for other types and for a `uint64` past `Int.max`.
    public var integerValue: Int? {
        switch self {
        case let .uint8(v): Int(v)
        case let .int8(v): Int(v)
        case let .uint16(v): Int(v)
        case let .int16(v): Int(v)
        case let .uint32(v): Int(v)
        case let .int32(v): Int(v)
        case let .uint64(v): Int(exactly: v)
        case let .int64(v): Int(v)
        default: nil
        }
    }

    /// The value of a `float32` (exactly widened) or `float64`, `nil` for other types.
    public var floatValue: Double? {
        switch self {
        case let .float32(v): Double(v)
        case let .float64(v): v
        default: nil
        }
    }

    /// The string, `nil` for other types.
    public var stringValue: String? {
        if case let .string(v) = self { return v }
        return nil
    }

    /// The bool, `nil` for other types.
    public var boolValue: Bool? {
        if case let .bool(v) = self { return v }
        return nil
    }

    /// The array, `nil` for other types.
    public var arrayValue: GGUFArray? {
        if case let .array(v) = self { return v }
        return nil
    }
}

/// A GGUF metadata array: every element has the one element type written before the count.
/// Elements are kept in typed Swift arrays, so a large array costs its elements' own size;
/// an array of arrays holds inner arrays that each have their own element type.
public enum GGUFArray: Sendable, Equatable {
    case uint8([UInt8])
    case int8([Int8])
    case uint16([UInt16])
    case int16([Int16])
    case uint32([UInt32])
    case int32([Int32])
    case uint64([UInt64])
    case int64([Int64])
    case float32([Float])
    case float64([Double])
    case bool([Bool])
    case string([String])
    case array([GGUFArray])

    /// The element type.
    public var elementType: GGUFValueType {
        switch self {
        case .uint8: .uint8
        case .int8: .int8
        case .uint16: .uint16
        case .int16: .int16
        case .uint32: .uint32
        case .int32: .int32
        case .uint64: .uint64
        case .int64: .int64
        case .float32: .float32
        case .float64: .float64
        case .bool: .bool
        case .string: .string
        case .array: .array
        }
    }

    /// The number of elements.
    public var count: Int {
        switch self {
        case let .uint8(v): v.count
        case let .int8(v): v.count
        case let .uint16(v): v.count
        case let .int16(v): v.count
        case let .uint32(v): v.count
        case let .int32(v): v.count
        case let .uint64(v): v.count
        case let .int64(v): v.count
        case let .float32(v): v.count
        case let .float64(v): v.count
        case let .bool(v): v.count
        case let .string(v): v.count
        case let .array(v): v.count
        }
    }

    /// `"array of <element type>"`.
    public var typeDescription: String { "array of \(elementType)" }

    /// The elements of an integer array as `Int`, `nil` for other element types and when a
    /// `uint64` element exceeds `Int.max`.
    public var integers: [Int]? {
        switch self {
        case let .uint8(v): v.map(Int.init)
        case let .int8(v): v.map(Int.init)
        case let .uint16(v): v.map(Int.init)
        case let .int16(v): v.map(Int.init)
        case let .uint32(v): v.map(Int.init)
        case let .int32(v): v.map(Int.init)
        case let .uint64(v): v.allSatisfy { $0 <= UInt64(Int.max) } ? v.map { Int($0) } : nil
        case let .int64(v): v.map(Int.init)
        default: nil
        }
    }

    /// The elements of a `float32` (exactly widened) or `float64` array, `nil` for other element types.
    public var floats: [Double]? {
        switch self {
        case let .float32(v): v.map(Double.init)
        case let .float64(v): v
        default: nil
        }
    }
}
