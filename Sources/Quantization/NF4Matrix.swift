import LinearAlgebra

/// A Float matrix quantized to NF4 (``NF4Code``) as bitsandbytes' `quantize_4bit(quant_type="nf4",
/// blocksize=64)` stores it, byte for byte, optionally with double quantization of the scales.
///
/// The `rows×columns` values are flattened row-major, `wₑ` for `e = row·columns + column`, and cut
/// into blocks of 64 consecutive values (the last may be shorter; blocks cross row boundaries when
/// `columns` is not a multiple of 64). Block `b` has the absmax `a_b = max |wₑ|` and each value the
/// NF4 code of `wₑ·(1/a_b)` (float32; the last, partial block divides, `wₑ/a_b`, as bitsandbytes
/// does); element `e` is nibble `e mod 2` of byte `e/2`, the even element in the HIGH nibble.
/// Dequantized: `ŵₑ = c[qₑ]·a_b` (float32).
///
/// Error bound (``maximumScaledError``): `|wₑ − ŵₑ| ≤ a_b·(h + 2⁻²²)`, `h = (c₁ − c₀)/2 = 0.15190`
/// the largest half gap between neighbouring codes, `2⁻²²` covering the float32 rounding of the
/// reciprocal, the scaled value, a midpoint and the product. Double quantization adds the scale's error times `|c[qₑ]| ≤ 1`:
/// `|a_b − â_b| ≤ 0.0070·max_{b′∈B} |a_{b′} − ā|` over the block's group `B` of 256 (plus rounding).
///
/// With double quantization (bitsandbytes' `compress_statistics=True`) the absmax values are stored
/// as `a_b − ā` (`ā` their float32 mean, summed as PyTorch does) quantized with the 8-bit
/// ``DynamicCode`` in blocks of 256 (``DynamicQuantizedValues``), and `â_b = c₈[q_b]·a′_{b/256} + ā`.
/// Storage: 4 bits a value, plus 32 (one fp32 absmax) per 64, or 8 per 64 and 32 per 64·256 with
/// double quantization: 4.5 and 4.1270 bits a parameter (``bitsPerParameter``).
public struct NF4Matrix: Sendable, Equatable {
    /// Values per absmax.
    public static let blockSize = 64

    /// How the block absmax values are stored.
    public enum Scales: Sendable, Equatable {
        /// One fp32 absmax per block.
        case absmax([Float])
        /// `a_b − offset` quantized blockwise with the 8-bit dynamic code, and the offset (the mean).
        case doubleQuantized(DynamicQuantizedValues, offset: Float)
    }

    public let rows: Int
    public let columns: Int
    /// `⌈rows·columns/2⌉` bytes of two codes, the first element in the high nibble.
    public let packed: [UInt8]
    public let scales: Scales

    /// `h = (c₁ − c₀)/2`, the largest distance of a scaled value in `[−1, 1]` to its nearest code.
    public static let maximumScaledError: Float = (NF4Code.values[1] - NF4Code.values[0]) / 2

    /// Number of blocks, `⌈rows·columns/64⌉`.
    public var blockCount: Int { (rows * columns + Self.blockSize - 1) / Self.blockSize }

    /// Number of values, `rows·columns`.
    public var count: Int { rows * columns }

    /// Quantizes `matrix`; `doubleQuantization` quantizes the absmax values too. Throws for a NaN
    /// or infinite element.
    public init(quantizing matrix: Matrix<Float>, doubleQuantization: Bool = false) throws(QuantizationError) {
        let values = matrix.elements
        if let bad = values.firstIndex(where: { !$0.isFinite }) {
            throw .nonFiniteValue(row: bad / matrix.columns, column: bad % matrix.columns)
        }
        let n = values.count
        var packed = [UInt8](repeating: 0, count: (n + 1) / 2)
        var absmax: [Float] = []
        absmax.reserveCapacity((n + Self.blockSize - 1) / Self.blockSize)
        for start in stride(from: 0, to: n, by: Self.blockSize) {
            let end = min(start + Self.blockSize, n)
            let largest = values[start..<end].reduce(0) { max($0, abs($1)) }
            // bitsandbytes scales by a clamped absmax, so an all-zero block gives codes of 0, not NaN;
            // it stores the clamped value only for the partial last block.
            let divisor = max(largest, 1e-38)
            let isPartial = end - start < Self.blockSize
            absmax.append(isPartial ? divisor : largest)
            let reciprocal = 1 / divisor
            for e in start..<end {
                let scaled = min(max(isPartial ? values[e] / divisor : values[e] * reciprocal, -1), 1)
                packed[e >> 1] |= NF4Code.code(of: scaled) << (e & 1 == 0 ? 4 : 0)
            }
        }
        if n % 2 == 1 { packed[n >> 1] |= NF4Code.zeroCode }
        let scales: Scales
        if doubleQuantization {
            let offset = torchMean(absmax)
            scales = .doubleQuantized(DynamicQuantizedValues(quantizing: absmax.map { $0 - offset }), offset: offset)
        } else {
            scales = .absmax(absmax)
        }
        self.init(uncheckedRows: matrix.rows, columns: matrix.columns, packed: packed, scales: scales)
    }

    /// A matrix from stored parts (bitsandbytes' packed tensor and quant state); throws unless
    /// `packed` has `⌈rows·columns/2⌉` bytes and the scales one entry per 64 values.
    public init(rows: Int, columns: Int, packed: [UInt8], scales: Scales) throws(QuantizationError) {
        precondition(rows >= 0 && columns >= 0, "NF4Matrix: shape \(rows)×\(columns) is negative")
        let n = rows * columns
        guard packed.count == (n + 1) / 2 else {
            throw .countMismatch(what: "packed bytes for \(rows)×\(columns)", expected: (n + 1) / 2, actual: packed.count)
        }
        let blocks = (n + Self.blockSize - 1) / Self.blockSize
        let stored = switch scales {
        case let .absmax(values): values.count
        case let .doubleQuantized(values, _): values.codes.count
        }
        guard stored == blocks else {
            throw .countMismatch(what: "block scales for \(rows)×\(columns)", expected: blocks, actual: stored)
        }
        self.init(uncheckedRows: rows, columns: columns, packed: packed, scales: scales)
    }

    private init(uncheckedRows rows: Int, columns: Int, packed: [UInt8], scales: Scales) {
        self.rows = rows
        self.columns = columns
        self.packed = packed
        self.scales = scales
    }

    /// `a_b`, or `â_b = c₈[q_b]·a′ + ā` (float32, product then sum) with double quantization.
    @inline(__always)
    public func absmax(ofBlock b: Int) -> Float {
        switch scales {
        case let .absmax(values): values[b]
        case let .doubleQuantized(values, offset): values.value(at: b) + offset
        }
    }

    /// The NF4 code of element `e` of the row-major flattening.
    public func code(at e: Int) -> UInt8 { e & 1 == 0 ? packed[e >> 1] >> 4 : packed[e >> 1] & 0x0F }

    /// Bits of storage per value: `8·bytes / (rows·columns)`, counting the packed codes, the scales
    /// and, with double quantization, the 256-block absmax values and the 32-bit offset.
    public var bitsPerParameter: Double { Double(8 * storageBytes) / Double(count) }

    /// Bytes of storage: packed codes, and 4 per absmax, or 1 per block, 4 per 256 blocks and 4 for
    /// the offset.
    public var storageBytes: Int {
        switch scales {
        case let .absmax(values): packed.count + 4 * values.count
        case let .doubleQuantized(values, _): packed.count + values.codes.count + 4 * values.absmax.count + 4
        }
    }

    /// Bits a parameter for large matrices: `4 + 32/64 = 4.5`, or with double quantization
    /// `4 + 8/64 + 32/(64·256) = 4.126953125`.
    public static func bitsPerParameter(doubleQuantization: Bool) -> Double {
        let block = Double(blockSize)
        return doubleQuantization ? 4 + 8 / block + 32 / (block * Double(DynamicQuantizedValues.blockSize)) : 4 + 32 / block
    }

    /// The whole matrix dequantized, `ŵ = c[q]·a` (float32).
    public func dequantized() -> Matrix<Float> {
        var result = Matrix<Float>.unsafeUninitialized(rows, columns)
        result.withUnsafeMutableBufferPointer { dequantize(rows: 0..<rows, into: $0.baseAddress!) }
        return result
    }

    /// Writes rows `range` dequantized, row-major (`range.count × columns` values), to `output`:
    /// `c[q]·a` in float32, then widened to `T` exactly, so a Double layer sees the same values.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func dequantize<T: MatrixScalar>(rows range: Range<Int>, into output: UnsafeMutablePointer<T>) {
        precondition(range.lowerBound >= 0 && range.upperBound <= rows,
                     "NF4Matrix.dequantize: rows \(range) of \(rows)×\(columns)")
        let (first, end) = (range.lowerBound * columns, range.upperBound * columns)
        guard first < end else { return }
        packed.withUnsafeBufferPointer { bytes in
            NF4Code.pairs.withUnsafeBufferPointer { pairs in
                var e = first
                while e < end {
                    let block = e / Self.blockSize
                    let blockEnd = min((block + 1) * Self.blockSize, end)
                    let scale = absmax(ofBlock: block)
                    if e & 1 == 1 {  // an odd start (odd `columns`): the low nibble alone
                        output[e - first] = T(NF4Code.values[Int(bytes[e >> 1] & 0x0F)] * scale)
                        e += 1
                    }
                    while e + 1 < blockEnd {
                        let (high, low) = pairs[Int(bytes[e >> 1])]
                        output[e - first] = T(high * scale)
                        output[e - first + 1] = T(low * scale)
                        e += 2
                    }
                    if e < blockEnd {  // an odd end: the high nibble alone
                        output[e - first] = T(NF4Code.values[Int(bytes[e >> 1] >> 4)] * scale)
                        e += 1
                    }
                }
            }
        }
    }
}
