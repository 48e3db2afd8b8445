import Foundation

/// Conversion between little-endian tensor bytes and `Float`/`Double` elements.
///
/// Narrowing conversions round to nearest, ties to even, in one step: `Double → F16` uses the
/// correctly rounded `Float16(_: Double)`, and `Double → BF16` rounds to `Float` with
/// round-to-odd first, which makes the second rounding exact (24 ≥ 8 + 2 bits).
enum ElementCoding {
    /// The `count` elements of `dtype` in `bytes`, converted to `T`.
    static func decode<T: TensorScalar>(_ bytes: UnsafeRawBufferPointer, dtype: TensorDType, count: Int) -> [T] {
        precondition(dtype.isConvertible && bytes.count == count * dtype.byteCount,
                     "ElementCoding.decode: \(bytes.count) bytes for \(count) × \(dtype.rawValue)")
        // `T` is `Double` or `Float` here, so the bit casts are identities (an `as!` would copy element-wise).
        if T.self == Double.self {
            return unsafeBitCast(decodeAsDouble(bytes, dtype: dtype, count: count), to: [T].self)
        }
        precondition(T.self == Float.self, "ElementCoding: \(T.self) is neither Float nor Double")
        return unsafeBitCast(decodeAsFloat(bytes, dtype: dtype, count: count), to: [T].self)
    }

    /// The little-endian bytes of `elements` stored as `dtype`.
    static func encode<T: TensorScalar>(_ elements: [T], as dtype: TensorDType) -> Data {
        precondition(dtype.isConvertible, "ElementCoding.encode: \(dtype.rawValue) is not a floating-point dtype")
        if T.self == Double.self {
            return encodeDoubles(unsafeBitCast(elements, to: [Double].self), as: dtype)
        }
        precondition(T.self == Float.self, "ElementCoding: \(T.self) is neither Float nor Double")
        return encodeFloats(unsafeBitCast(elements, to: [Float].self), as: dtype)
    }

    private static func decodeAsFloat(_ bytes: UnsafeRawBufferPointer, dtype: TensorDType, count: Int) -> [Float] {
        switch dtype {
        case .float32 where isLittleEndianHost:
            [Float](unsafeUninitializedCapacity: count) { out, initialized in
                UnsafeMutableRawBufferPointer(out).copyMemory(from: bytes)
                initialized = count
            }
        case .float32: words(bytes, count: count, as: UInt32.self) { Float(bitPattern: $0) }
        case .float64: words(bytes, count: count, as: UInt64.self) { Float(Double(bitPattern: $0)) }
        case .float16: words(bytes, count: count, as: UInt16.self) { Float(Float16(bitPattern: $0)) }
        default: words(bytes, count: count, as: UInt16.self) { Float(bitPattern: UInt32($0) << 16) }
        }
    }

    private static func decodeAsDouble(_ bytes: UnsafeRawBufferPointer, dtype: TensorDType, count: Int) -> [Double] {
        switch dtype {
        case .float32: words(bytes, count: count, as: UInt32.self) { Double(Float(bitPattern: $0)) }
        case .float64: words(bytes, count: count, as: UInt64.self) { Double(bitPattern: $0) }
        case .float16: words(bytes, count: count, as: UInt16.self) { Double(Float16(bitPattern: $0)) }
        default: words(bytes, count: count, as: UInt16.self) { Double(Float(bitPattern: UInt32($0) << 16)) }
        }
    }

    /// The `count` little-endian words of `bytes` (any alignment), each converted by `convert`.
    @inline(__always)
    private static func words<Word: FixedWidthInteger, Element>(
        _ bytes: UnsafeRawBufferPointer, count: Int, as _: Word.Type, _ convert: (Word) -> Element
    ) -> [Element] {
        [Element](unsafeUninitializedCapacity: count) { out, initialized in
            for i in 0..<count {
                out[i] = convert(Word(littleEndian: bytes.loadUnaligned(fromByteOffset: i * MemoryLayout<Word>.size, as: Word.self)))
            }
            initialized = count
        }
    }

    private static func encodeFloats(_ elements: [Float], as dtype: TensorDType) -> Data {
        switch dtype {
        case .float32 where isLittleEndianHost: elements.withUnsafeBytes { Data($0) }
        case .float32: littleEndianBytes(elements.map(\.bitPattern))
        case .float64: littleEndianBytes(elements.map { Double($0).bitPattern })
        case .float16: littleEndianBytes(elements.map { Float16($0).bitPattern })
        default: littleEndianBytes(elements.map(bfloat16Bits))
        }
    }

    private static func encodeDoubles(_ elements: [Double], as dtype: TensorDType) -> Data {
        switch dtype {
        case .float32: littleEndianBytes(elements.map { Float($0).bitPattern })
        case .float64: littleEndianBytes(elements.map(\.bitPattern))
        case .float16: littleEndianBytes(elements.map { Float16($0).bitPattern })
        default: littleEndianBytes(elements.map { bfloat16Bits(floatRoundedToOdd($0)) })
        }
    }

    /// The bfloat16 nearest to `x` (ties to even); NaN stays a quiet NaN with its sign.
    static func bfloat16Bits(_ x: Float) -> UInt16 {
        let bits = x.bitPattern
        if x.isNaN { return UInt16(truncatingIfNeeded: bits >> 16) | 0x0040 }
        let roundingBias: UInt32 = 0x7FFF + ((bits >> 16) & 1)
        return UInt16(truncatingIfNeeded: (bits &+ roundingBias) >> 16)
    }

    /// `x` rounded to `Float` with round-to-odd: exact values stay, inexact ones take whichever
    /// of the two neighbouring floats has an odd last significand bit.
    static func floatRoundedToOdd(_ x: Double) -> Float {
        let nearest = Float(x)
        guard nearest.isFinite, Double(nearest) != x, nearest.bitPattern & 1 == 0 else { return nearest }
        return Double(nearest) > x ? nearest.nextDown : nearest.nextUp
    }

    /// Whether this machine stores words little-endian, as the files do: Float32 storage is then
    /// the file's bytes, copied whole (what makes multi-hundred-megabyte tensors cheap in debug builds).
    private static let isLittleEndianHost = UInt32(1).littleEndian == 1

    private static func littleEndianBytes<Word: FixedWidthInteger>(_ words: [Word]) -> Data {
        if isLittleEndianHost { return words.withUnsafeBytes { Data($0) } }
        var data = Data(count: words.count * MemoryLayout<Word>.size)
        data.withUnsafeMutableBytes { raw in
            for (i, word) in words.enumerated() {
                raw.storeBytes(of: word.littleEndian, toByteOffset: i * MemoryLayout<Word>.size, as: Word.self)
            }
        }
        return data
    }
}
