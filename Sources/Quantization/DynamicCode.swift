/// bitsandbytes' signed 8-bit dynamic (dynamic-exponent) code, which double quantization applies to
/// the NF4 block absmax values, and its blockwise quantization.
///
/// The 256 values, as `create_dynamic_map(signed=True, max_exponent_bits=7, total_bits=8)` builds
/// them: for `e = 0 … 6`, the `2ᵉ` midpoints of `linspace(0.1, 1, 2ᵉ + 1)` (float32) times `10^(e−6)`
/// (float32), with both signs; then `0` and `1`; sorted. So a decade `[10^(e−7), 10^(e−6)]` holds
/// `2ᵉ` evenly spaced values, more fraction bits as the exponent grows.
public enum DynamicCode {
    /// The 256 values, ascending (`−0.99297 … 1`).
    public static let values: [Float] = {
        var values: [Float] = [0, 1]
        for e in 0..<7 {
            let boundaries = linspace(0.1, 1, count: (1 << e) + 1)
            // Python's `10 ** (e − 6)`: a double for negative exponents, cast to float32 by torch's product.
            let decade = Float(e == 6 ? 1 : pow10(e - 6))
            for i in 0..<(1 << e) {
                let value = decade * ((boundaries[i] + boundaries[i + 1]) / 2)
                values += [value, -value]
            }
        }
        return values.sorted()
    }()

    /// `torch.linspace(start, end, count)` in float32 as its CPU kernel computes it: `start + step·i`
    /// for the first half and `end − step·(count − 1 − i)` for the second, `step = (end − start)/(count − 1)`,
    /// each with one rounding (the kernel is compiled with fused multiply-adds; two roundings differ
    /// from it in the last bit for 9 or more points).
    static func linspace(_ start: Float, _ end: Float, count: Int) -> [Float] {
        let step = (end - start) / Float(count - 1)
        return (0..<count).map { i in
            i < count / 2 ? start.addingProduct(step, Float(i)) : end.addingProduct(-step, Float(count - 1 - i))
        }
    }

    /// `10ⁿ` for `n ≤ 0` as Python computes `10 ** n` (the correctly rounded double).
    private static func pow10(_ n: Int) -> Double { Double("1e\(n)")! }

    /// The index of the code nearest `x ∈ [−1, 1]`, a tie going to the lower one: bitsandbytes'
    /// CPU kernel takes the largest `i` with `cᵢ ≤ x` (0 below `c₀`) and moves to `i + 1` only when
    /// `|x − cᵢ₊₁| < |x − cᵢ|` in float32.
    static func code(of x: Float) -> UInt8 {
        var low = 0, count = values.count
        while count > 0 {  // the number of codes ≤ x
            let half = count / 2
            if values[low + half] <= x {
                low += half + 1
                count -= half + 1
            } else {
                count = half
            }
        }
        var index = max(low - 1, 0)
        if index < 255 && abs(x - values[index + 1]) < abs(x - values[index]) { index += 1 }
        return UInt8(index)
    }

    /// The index of 0, the code of a block that is all zeros.
    static let zeroCode = UInt8(values.firstIndex(of: 0)!)
}

/// Values quantized blockwise with the ``DynamicCode``: per block of ``blockSize`` values an fp32
/// absmax `a_b = max |vᵢ|` and per value the code of `vᵢ / a_b`; `|vᵢ − c[qᵢ]·a_b|` is at most half
/// the widest gap between neighbouring codes times `a_b`, `0.9/128·a_b ≈ 0.0070·a_b` (the codes on
/// `[0.1, 1]` are `0.9/64` apart), plus float32 rounding.
public struct DynamicQuantizedValues: Sendable, Equatable {
    /// Values per absmax (bitsandbytes' nested blocksize).
    public static let blockSize = 256
    /// One code a value.
    public let codes: [UInt8]
    /// One absmax per ``blockSize`` values (the last block may be shorter).
    public let absmax: [Float]

    /// Quantizes `values` as bitsandbytes' `quantize_blockwise(values, blocksize=256)` on the CPU
    /// (float32 division by the absmax). A block that is all zeros gets absmax 0 and the code of 0
    /// (bitsandbytes divides 0 by 0 there; its value, `c·0 = 0`, is the same).
    public init(quantizing values: [Float]) {
        var codes = [UInt8](repeating: DynamicCode.zeroCode, count: values.count)
        var absmax: [Float] = []
        for start in stride(from: 0, to: values.count, by: Self.blockSize) {
            let block = start..<min(start + Self.blockSize, values.count)
            let scale = values[block].reduce(0) { max($0, abs($1)) }
            absmax.append(scale)
            guard scale > 0 else { continue }
            for i in block { codes[i] = DynamicCode.code(of: values[i] / scale) }
        }
        self.codes = codes
        self.absmax = absmax
    }

    /// Codes and absmax values as stored (bitsandbytes' `state.absmax` and `state.state2.absmax`);
    /// throws unless there is one absmax per ``blockSize`` codes.
    public init(codes: [UInt8], absmax: [Float]) throws(QuantizationError) {
        let blocks = (codes.count + Self.blockSize - 1) / Self.blockSize
        guard absmax.count == blocks else {
            throw .countMismatch(what: "absmax values of the 8-bit absmax codes", expected: blocks, actual: absmax.count)
        }
        self.codes = codes
        self.absmax = absmax
    }

    /// `c[qᵢ]·a_b` (float32), as bitsandbytes' `dequantize_blockwise`.
    @inline(__always)
    public func value(at i: Int) -> Float { DynamicCode.values[Int(codes[i])] * absmax[i / Self.blockSize] }
}
