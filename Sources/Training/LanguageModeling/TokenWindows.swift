import LinearAlgebra

/// A token stream cut into fixed-length windows, for training and for held-out evaluation.
public enum TokenWindows {
    /// Training sequences of `T = context` tokens from a stream: window `j` holds tokens
    /// `j·T ..< (j+1)·T` and, as targets, the next tokens `j·T + 1 ... (j+1)·T` — every position
    /// is scored and consecutive windows share one token. `⌊(count − 1)/T⌋` windows; a stream
    /// shorter than `T + 1` tokens gives none.
    public static func training(_ ids: [Int], context t: Int) -> [TokenBatch] {
        precondition(t > 0, "TokenWindows.training: context \(t)")
        guard ids.count > t else { return [] }
        return stride(from: 0, through: ids.count - t - 1, by: t).map { start in
            TokenBatch(tokens: Array(ids[start..<(start + t)]), targets: Array(ids[(start + 1)...(start + t)]), sequenceLength: t)
        }
    }

    /// The perplexity protocol: consecutive non-overlapping windows of `C = context` tokens (the
    /// last may be shorter), each scored on every position but its first (token `i` of a window
    /// predicts token `i + 1`; the window's last token predicts nothing). Perplexity is
    /// `exp(mean NLL)` over all scored tokens: `count − ⌈count/C⌉` of them.
    public static func evaluation(_ ids: [Int], context c: Int) -> [TokenBatch] {
        precondition(c > 0, "TokenWindows.evaluation: context \(c)")
        return stride(from: 0, to: ids.count, by: c).map { start in
            let window = Array(ids[start..<min(start + c, ids.count)])
            return TokenBatch(tokens: window, targets: Array(window.dropFirst()) + [-1], sequenceLength: window.count)
        }
    }

    /// `windows` in batches of `batchSize`, in an order shuffled by `seed` and `epoch` alone (so a
    /// resumed run sees the same order), the last batch possibly short. Windows must share a length.
    public static func batches(_ windows: [TokenBatch], batchSize: Int, seed: UInt64, epoch: Int) -> [TokenBatch] {
        precondition(batchSize > 0, "TokenWindows.batches: batch size \(batchSize)")
        var generator = SeededGenerator(seed: seed &+ 0x9E37_79B9_7F4A_7C15 &* UInt64(epoch + 1))
        let order = windows.indices.shuffled(using: &generator)
        return stride(from: 0, to: order.count, by: batchSize).map { start in
            let chosen = order[start..<min(start + batchSize, order.count)].map { windows[$0] }
            return TokenBatch(
                tokens: chosen.flatMap(\.tokens), targets: chosen.flatMap(\.targets), sequenceLength: chosen[0].sequenceLength)
        }
    }
}
