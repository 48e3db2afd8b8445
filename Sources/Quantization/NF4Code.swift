/// The NF4 data type of QLoRA (Dettmers et al. 2023): 16 values on `[−1, 1]`, the quantiles of a
/// standard normal scaled so the extremes are ±1, with an exact zero (8 values below zero, 7 above).
///
/// A value `x` already scaled by its block's absmax gets the code `q = #{i : mᵢ < x}`, with
/// `mᵢ = (cᵢ + cᵢ₊₁)/2` the float32 midpoints: the nearest code, a value exactly on a midpoint going
/// to the lower code, as bitsandbytes' `torch.bucketize` does (right = False).
public enum NF4Code {
    /// `c₀ … c₁₅`, ascending, as float32.
    public static let values: [Float] = [
        -1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453, -0.28444138169288635,
        -0.18477343022823334, -0.09105003625154495, 0.0, 0.07958029955625534, 0.16093020141124725,
        0.24611230194568634, 0.33791524171829224, 0.44070982933044434, 0.5626170039176941,
        0.7229568362236023, 1.0,
    ]

    /// The code of 0, which pads an odd element count's last byte.
    public static let zeroCode: UInt8 = 7

    /// `mᵢ = (cᵢ + cᵢ₊₁)/2` in float32 (`i < 15`).
    static let midpoints: [Float] = (0..<15).map { (values[$0] + values[$0 + 1]) / 2 }

    /// The code of a scaled value `x ∈ [−1, 1]`: the number of midpoints strictly below it.
    @inline(__always)
    static func code(of x: Float) -> UInt8 {
        // Four comparisons of a binary search over the 15 sorted midpoints.
        var low = 0, count = 15
        while count > 0 {
            let half = count / 2
            if midpoints[low + half] < x {
                low += half + 1
                count -= half + 1
            } else {
                count = half
            }
        }
        return UInt8(low)
    }

    /// `(c_high, c_low)` of every byte, the first element in the high nibble: one load per two values.
    static let pairs: [(Float, Float)] = (0..<256).map { (values[$0 >> 4], values[$0 & 0x0F]) }
}
