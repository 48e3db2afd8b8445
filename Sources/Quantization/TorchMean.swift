/// The float32 mean of `values` summed in the order of PyTorch's CPU `sum` on its AVX2 kernels,
/// so double quantization's offset (`absmax.mean()`) is bitsandbytes' to the bit.
///
/// PyTorch reduces a contiguous float32 vector in lanes of 8: the full 8-float vectors in four
/// interleaved accumulators (vector `4i + k` into accumulator `k`), cascaded over four levels of
/// `2^p` steps (`p = max(4, ⌈log₂ m⌉/4)` for `m` steps, so rounding error grows with `log n`); the
/// leftover vectors into accumulator 0, the accumulators together; then a scalar sum of the tail
/// elements, and the 8 lanes added to it one by one; finally the sum divided by `n`. Beyond 32768
/// values PyTorch splits the sum across its threads, so its mean depends on the thread count; this
/// is the one-thread order.
func torchMean(_ values: [Float]) -> Float {
    let lanes = 8, interleave = 4
    let n = values.count
    guard n > 0 else { return .nan }
    typealias Lanes = SIMD8<Float>
    func vector(_ v: Int) -> Lanes { Lanes(values[(v * lanes)..<(v * lanes + lanes)]) }
    func scalar(_ i: Int) -> Lanes { var x = Lanes(repeating: 0); x[0] = values[i]; return x }
    // `row_sum`: `count` items (vectors, or single values in lane 0 when n < 8).
    func rowSum(_ count: Int, _ item: (Int) -> Lanes) -> Lanes {
        let steps = count / interleave
        var partial = cascadeSum(steps) { step, k in item(step * interleave + k) }
        for i in (steps * interleave)..<count { partial[0] += item(i) }
        for k in 1..<interleave { partial[0] += partial[k] }
        return partial[0]
    }
    guard n >= lanes else { return rowSum(n, scalar)[0] / Float(n) }
    let full = n / lanes
    let vectorSum = rowSum(full, vector)
    var total: Float = 0
    for i in (full * lanes)..<n { total += values[i] }
    for lane in 0..<lanes { total += vectorSum[lane] }
    return total / Float(n)
}

/// `multi_row_sum`: `steps` steps of 4 items into 4 accumulators, through 4 cascade levels.
private func cascadeSum(_ steps: Int, _ item: (Int, Int) -> SIMD8<Float>) -> [SIMD8<Float>] {
    let levels = 4, width = 4
    let ceilLog2 = steps <= 1 ? 0 : Int.bitWidth - (steps - 1).leadingZeroBitCount
    let power = max(4, ceilLog2 / levels)
    let levelStep = 1 << power, mask = levelStep - 1
    var accumulators = [[SIMD8<Float>]](repeating: .init(repeating: .zero, count: width), count: levels)
    var i = 0
    while i + levelStep <= steps {
        for _ in 0..<levelStep {
            for k in 0..<width { accumulators[0][k] += item(i, k) }
            i += 1
        }
        for level in 1..<levels {
            for k in 0..<width {
                accumulators[level][k] += accumulators[level - 1][k]
                accumulators[level - 1][k] = .zero
            }
            if i & (mask << (level * power)) != 0 { break }
        }
    }
    while i < steps {
        for k in 0..<width { accumulators[0][k] += item(i, k) }
        i += 1
    }
    for level in 1..<levels {
        for k in 0..<width { accumulators[0][k] += accumulators[level][k] }
    }
    return accumulators[0]
}
