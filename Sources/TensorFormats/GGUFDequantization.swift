/// Conversion of ggml tensor bytes to `Float`.
///
/// Results are bit for bit those of ggml's reference `dequantize_row_*` and of the gguf Python
/// package: float16 scales are widened exactly, and every element is the same float32 products
/// and sums in the same order. Block layouts (all little-endian; `d`, `m`, `dmin` are float16):
///
/// | type | elements / bytes | layout | element |
/// |------|------------------|--------|---------|
/// | F32, F16, BF16 | 1 / 4, 2, 2 | the value | widened exactly |
/// | Q4_0 | 32 / 18 | `d`, `qs[16]` | `d·(q − 8)` |
/// | Q4_1 | 32 / 20 | `d`, `m`, `qs[16]` | `d·q + m` |
/// | Q5_0 | 32 / 22 | `d`, `qh: u32`, `qs[16]` | `d·(q − 16)` |
/// | Q5_1 | 32 / 24 | `d`, `m`, `qh: u32`, `qs[16]` | `d·q + m` |
/// | Q8_0 | 32 / 34 | `d`, `qs: i8[32]` | `d·q` |
/// | Q4_K | 256 / 144 | `d`, `dmin`, `scales[12]`, `qs[128]` | `(d·sc)·q − dmin·mn` |
/// | Q6_K | 256 / 210 | `ql[128]`, `qh[64]`, `scales: i8[16]`, `d` | `(d·sc)·(q − 32)` |
///
/// In the 32-element types, byte `j` of `qs` holds element `j` in its low nibble and element
/// `j + 16` in its high one, and bit `i` of `qh` is the fifth bit of element `i`. Q4_K splits its
/// 256 elements into 8 sub-blocks of 32, each with a 6-bit scale `sc` and 6-bit min `mn` packed
/// into `scales`; bytes `32c ..< 32c + 32` of `qs` hold sub-block `2c` (low nibbles) and `2c + 1`
/// (high). Q6_K has two halves of 128 elements, each from 64 bytes of `ql` (low 4 bits) and 32 of
/// `qh` (high 2 bits), and 16 signed scales, one per 16 elements.
public enum GGUFDequantization {
    /// Writes the first `count` elements stored in `bytes` as `type` to `output`.
    ///
    /// `count` must be a multiple of `type.blockSize`, `bytes` must hold at least
    /// `count / blockSize` blocks, `output` at least `count` floats, and `type.isDequantizable`
    /// must hold (checked once per call; ``GGUFFile/dequantized(_:)`` checks the type first
    /// and throws). Blocks are independent, so a row, several rows or a whole tensor can be
    /// converted in one call.
    public static func dequantizeRow(
        type: GGMLType, bytes: UnsafeRawBufferPointer, count: Int, into output: UnsafeMutableBufferPointer<Float>
    ) {
        precondition(type.isDequantizable, "GGUFDequantization: \(type) is not dequantized")
        precondition(count >= 0 && count % type.blockSize == 0, "GGUFDequantization: \(count) is not whole \(type) blocks")
        let blocks = count / type.blockSize
        precondition(bytes.count >= blocks * type.bytesPerBlock && output.count >= count,
                     "GGUFDequantization: \(bytes.count) bytes and room for \(output.count) floats for \(count) \(type) elements")
        guard count > 0, let source = bytes.baseAddress, let destination = output.baseAddress else { return }
        switch type {
        case .f32: f32(source, count, destination)
        case .f16: f16(source, count, destination)
        case .bf16: bf16(source, count, destination)
        case .q4_0: q4_0(source, blocks, destination)
        case .q4_1: q4_1(source, blocks, destination)
        case .q5_0: q5_0(source, blocks, destination)
        case .q5_1: q5_1(source, blocks, destination)
        case .q8_0: q8_0(source, blocks, destination)
        case .q4_K: q4_K(source, blocks, destination)
        case .q6_K: q6_K(source, blocks, destination)
        default: preconditionFailure("GGUFDequantization: \(type) is not dequantized")
        }
    }

    /// The float16 with bits `bits`, exactly as a `Float`: the exponent and significand shifted
    /// into place and the exponent rebased by one multiplication by 2¹¹² (exact, and right for
    /// subnormals too), infinities and NaNs (payload kept) by bit pattern. Branch-light, so loops
    /// of it vectorize, unlike the library conversion, which is a function call on x86-64 without F16C.
    @inline(__always)
    static func float(fromHalf bits: UInt16) -> Float {
        let magnitude = UInt32(bits & 0x7FFF) << 13
        let sign = UInt32(bits & 0x8000) << 16
        let finite = (Float(bitPattern: magnitude) * 0x1p112).bitPattern
        let special = 0x7F80_0000 | magnitude
        return Float(bitPattern: sign | (magnitude >= 0x0F80_0000 ? special : finite))
    }

    @inline(__always)
    private static func half(_ pointer: UnsafeRawPointer, _ offset: Int) -> Float {
        float(fromHalf: UInt16(littleEndian: pointer.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
    }

    @inline(__always)
    private static func byte(_ pointer: UnsafeRawPointer, _ offset: Int) -> UInt8 {
        pointer.load(fromByteOffset: offset, as: UInt8.self)
    }

    private static func f32(_ source: UnsafeRawPointer, _ count: Int, _ output: UnsafeMutablePointer<Float>) {
        for i in 0..<count {
            output[i] = Float(bitPattern: UInt32(littleEndian: source.loadUnaligned(fromByteOffset: 4 &* i, as: UInt32.self)))
        }
    }

    private static func f16(_ source: UnsafeRawPointer, _ count: Int, _ output: UnsafeMutablePointer<Float>) {
        for i in 0..<count { output[i] = half(source, 2 &* i) }
    }

    private static func bf16(_ source: UnsafeRawPointer, _ count: Int, _ output: UnsafeMutablePointer<Float>) {
        for i in 0..<count {
            let bits = UInt16(littleEndian: source.loadUnaligned(fromByteOffset: 2 &* i, as: UInt16.self))
            output[i] = Float(bitPattern: UInt32(bits) << 16)
        }
    }

    private static func q4_0(_ source: UnsafeRawPointer, _ blocks: Int, _ output: UnsafeMutablePointer<Float>) {
        var block = source, out = output
        for _ in 0..<blocks {
            let d = half(block, 0)
            for j in 0..<16 {
                let q = byte(block, 2 &+ j)
                out[j] = Float(Int32(q & 0x0F) &- 8) * d
                out[j &+ 16] = Float(Int32(q >> 4) &- 8) * d
            }
            block += 18
            out += 32
        }
    }

    private static func q4_1(_ source: UnsafeRawPointer, _ blocks: Int, _ output: UnsafeMutablePointer<Float>) {
        var block = source, out = output
        for _ in 0..<blocks {
            let d = half(block, 0), m = half(block, 2)
            for j in 0..<16 {
                let q = byte(block, 4 &+ j)
                out[j] = d * Float(q & 0x0F) + m
                out[j &+ 16] = d * Float(q >> 4) + m
            }
            block += 20
            out += 32
        }
    }

    private static func q5_0(_ source: UnsafeRawPointer, _ blocks: Int, _ output: UnsafeMutablePointer<Float>) {
        var block = source, out = output
        for _ in 0..<blocks {
            let d = half(block, 0)
            let high = UInt32(littleEndian: block.loadUnaligned(fromByteOffset: 2, as: UInt32.self))
            for j in 0..<16 {
                let q = UInt32(byte(block, 6 &+ j))
                let low = (q & 0x0F) | ((high >> UInt32(j)) & 1) << 4
                let upper = (q >> 4) | ((high >> UInt32(j &+ 16)) & 1) << 4
                out[j] = Float(Int32(bitPattern: low) &- 16) * d
                out[j &+ 16] = Float(Int32(bitPattern: upper) &- 16) * d
            }
            block += 22
            out += 32
        }
    }

    private static func q5_1(_ source: UnsafeRawPointer, _ blocks: Int, _ output: UnsafeMutablePointer<Float>) {
        var block = source, out = output
        for _ in 0..<blocks {
            let d = half(block, 0), m = half(block, 2)
            let high = UInt32(littleEndian: block.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
            for j in 0..<16 {
                let q = UInt32(byte(block, 8 &+ j))
                let low = (q & 0x0F) | ((high >> UInt32(j)) & 1) << 4
                let upper = (q >> 4) | ((high >> UInt32(j &+ 16)) & 1) << 4
                out[j] = d * Float(low) + m
                out[j &+ 16] = d * Float(upper) + m
            }
            block += 24
            out += 32
        }
    }

    private static func q8_0(_ source: UnsafeRawPointer, _ blocks: Int, _ output: UnsafeMutablePointer<Float>) {
        var block = source, out = output
        for _ in 0..<blocks {
            let d = half(block, 0)
            for j in 0..<32 {
                out[j] = Float(block.load(fromByteOffset: 2 &+ j, as: Int8.self)) * d
            }
            block += 34
            out += 32
        }
    }

    /// Scale and min of Q4_K sub-block `j` (0..<8) from the 12 packed bytes at `scales`: bytes
    /// 0–3 hold the low 6 bits of scales 0–3, bytes 4–7 those of mins 0–3; scales and mins 4–7
    /// take their low 4 bits from bytes 8–11 and their high 2 bits from the top of bytes 0–7.
    @inline(__always)
    private static func scaleAndMin(_ scales: UnsafeRawPointer, _ j: Int) -> (scale: Float, min: Float) {
        if j < 4 {
            return (Float(byte(scales, j) & 63), Float(byte(scales, j &+ 4) & 63))
        }
        let scale = (byte(scales, j &+ 4) & 0x0F) | ((byte(scales, j &- 4) >> 6) << 4)
        let min = (byte(scales, j &+ 4) >> 4) | ((byte(scales, j) >> 6) << 4)
        return (Float(scale), Float(min))
    }

    private static func q4_K(_ source: UnsafeRawPointer, _ blocks: Int, _ output: UnsafeMutablePointer<Float>) {
        var block = source, out = output
        for _ in 0..<blocks {
            let d = half(block, 0), dmin = half(block, 2)
            let scales = block + 4, qs = block + 16
            for chunk in 0..<4 {
                let (scale1, min1) = scaleAndMin(scales, 2 &* chunk)
                let (scale2, min2) = scaleAndMin(scales, 2 &* chunk &+ 1)
                let d1 = d * scale1, m1 = dmin * min1
                let d2 = d * scale2, m2 = dmin * min2
                let bytes = qs + 32 &* chunk, chunkOut = out + 64 &* chunk
                for l in 0..<32 {
                    let q = byte(bytes, l)
                    chunkOut[l] = d1 * Float(q & 0x0F) - m1
                    chunkOut[l &+ 32] = d2 * Float(q >> 4) - m2
                }
            }
            block += 144
            out += 256
        }
    }

    private static func q6_K(_ source: UnsafeRawPointer, _ blocks: Int, _ output: UnsafeMutablePointer<Float>) {
        var block = source, out = output
        for _ in 0..<blocks {
            let d = half(block, 208)
            for half in 0..<2 {
                let ql = block + 64 &* half, qh = block + (128 &+ 32 &* half)
                let scales = block + (192 &+ 8 &* half)
                let halfOut = out + 128 &* half
                for l in 0..<32 {
                    let s = l >> 4
                    let low = byte(ql, l), low32 = byte(ql, l &+ 32), high = byte(qh, l)
                    let q1 = Int32((low & 0x0F) | (high & 3) << 4) &- 32
                    let q2 = Int32((low32 & 0x0F) | ((high >> 2) & 3) << 4) &- 32
                    let q3 = Int32((low >> 4) | ((high >> 4) & 3) << 4) &- 32
                    let q4 = Int32((low32 >> 4) | ((high >> 6) & 3) << 4) &- 32
                    halfOut[l] = d * Float(scales.load(fromByteOffset: s, as: Int8.self)) * Float(q1)
                    halfOut[l &+ 32] = d * Float(scales.load(fromByteOffset: s &+ 2, as: Int8.self)) * Float(q2)
                    halfOut[l &+ 64] = d * Float(scales.load(fromByteOffset: s &+ 4, as: Int8.self)) * Float(q3)
                    halfOut[l &+ 96] = d * Float(scales.load(fromByteOffset: s &+ 6, as: Int8.self)) * Float(q4)
                }
            }
            block += 210
            out += 256
        }
    }
}
