import Foundation
import LinearAlgebra

/// Conversion between little-endian tensor bytes and `Float`/`Double` elements.
///
/// Narrowing conversions round to nearest, ties to even, in one step: `Double → F16` uses the
/// correctly rounded `Float16(_: Double)`, and `Double → BF16` rounds to `Float` with
/// round-to-odd first, which makes the second rounding exact (24 ≥ 8 + 2 bits).
enum ElementCoding {
    /// The `count` elements of `dtype` in `bytes`, converted to `T`.
    static func decode<T: MatrixScalar>(_ bytes: UnsafeRawBufferPointer, dtype: TensorDType, count: Int) -> [T] {
        precondition(dtype.isConvertible && bytes.count == count * dtype.byteCount,
                     "ElementCoding.decode: \(bytes.count) bytes for \(count) × \(dtype.rawValue)")
        if T.self == Double.self {
            return decodeAsDouble(bytes, dtype: dtype, count: count) as! [T]
        }
        return decodeAsFloat(bytes, dtype: dtype, count: count) as! [T]
    }

    /// The little-endian bytes of `elements` stored as `dtype`.
    static func encode<T: MatrixScalar>(_ elements: [T], as dtype: TensorDType) -> Data {
        precondition(dtype.isConvertible, "ElementCoding.encode: \(dtype.rawValue) is not a floating-point dtype")
        if let doubles = elements as? [Double] {
            return encodeDoubles(doubles, as: dtype)
        }
        return encodeFloats(elements as! [Float], as: dtype)
    }

    private static func decodeAsFloat(_ bytes: UnsafeRawBufferPointer, dtype: TensorDType, count: Int) -> [Float] {
        [Float](unsafeUninitializedCapacity: count) { out, initialized in
            for i in 0..<count {
                out[i] = switch dtype {
                case .float32: Float(bitPattern: UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
                case .float64: Float(Double(bitPattern: UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))))
                case .float16: Float(Float16(bitPattern: UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))))
                default: Float(bitPattern: UInt32(UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) << 16)
                }
            }
            initialized = count
        }
    }

    private static func decodeAsDouble(_ bytes: UnsafeRawBufferPointer, dtype: TensorDType, count: Int) -> [Double] {
        if dtype != .float64 {
            return decodeAsFloat(bytes, dtype: dtype, count: count).map(Double.init)
        }
        return [Double](unsafeUninitializedCapacity: count) { out, initialized in
            for i in 0..<count {
                out[i] = Double(bitPattern: UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self)))
            }
            initialized = count
        }
    }

    private static func encodeFloats(_ elements: [Float], as dtype: TensorDType) -> Data {
        switch dtype {
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

    private static func littleEndianBytes<Word: FixedWidthInteger>(_ words: [Word]) -> Data {
        var data = Data(count: words.count * MemoryLayout<Word>.size)
        data.withUnsafeMutableBytes { raw in
            for (i, word) in words.enumerated() {
                raw.storeBytes(of: word.littleEndian, toByteOffset: i * MemoryLayout<Word>.size, as: Word.self)
            }
        }
        return data
    }
}
