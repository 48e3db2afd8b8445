/// Byte-pair merging of one pre-tokenizer piece, by merge rank.
///
/// A piece starts as one symbol per byte (the token spelling that byte). The adjacent pair with
/// the lowest rank merges first, the leftmost of equal pairs first, until no pair has a merge; this
/// is the order Hugging Face's BPE applies. A heap keeps long pieces (runs of CJK, whitespace or
/// punctuation) at O(n log n).
struct BytePairMerger: Sendable {
    /// `left << 32 | right` → `rank << 32 | merged`, all token ids.
    private let merges: [UInt64: UInt64]
    /// The token of each byte, or -1 when the vocabulary lacks it.
    private let byteTokens: [Int32]
    /// Emitted once for each run of bytes that have no token, if the vocabulary has one.
    private let unknownTokenID: Int32?

    init(merges: [UInt64: UInt64], byteTokens: [Int32], unknownTokenID: Int32?) {
        self.merges = merges
        self.byteTokens = byteTokens
        self.unknownTokenID = unknownTokenID
    }

    @inline(__always)
    static func key(_ left: Int32, _ right: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))
    }

    /// A queued merge of the symbol at `left` with its successor into `merged`.
    private struct Candidate: Comparable {
        var rank: Int32
        var left: Int32
        var merged: Int32
        static func < (a: Candidate, b: Candidate) -> Bool {
            a.rank != b.rank ? a.rank < b.rank : a.left < b.left
        }
    }

    private func candidate(_ symbols: [Int32], at left: Int, _ right: Int) -> Candidate? {
        guard let value = merges[Self.key(symbols[left], symbols[right])] else { return nil }
        return Candidate(rank: Int32(truncatingIfNeeded: value >> 32), left: Int32(left),
                         merged: Int32(truncatingIfNeeded: value & 0xFFFF_FFFF))
    }

    /// Appends the tokens of `piece` to `output`.
    func encode(_ piece: UnsafeBufferPointer<UInt8>, into output: inout [Int32]) {
        let count = piece.count
        if count == 1 { return emit([byteTokens[Int(piece[0])]], into: &output) }
        var symbols = piece.map { byteTokens[Int($0)] }
        var next = Array(1...count)  // `count` marks the end
        var previous = Array(-1..<(count - 1))
        var heap = MinHeap<Candidate>()
        for left in 0..<(count - 1) {
            if let candidate = candidate(symbols, at: left, left + 1) { heap.push(candidate) }
        }
        while let top = heap.pop() {
            let left = Int(top.left)
            let right = next[left]
            // Skip candidates made stale by an earlier merge of either symbol.
            guard symbols[left] >= -1, right < count,
                  let current = candidate(symbols, at: left, right), current.merged == top.merged else { continue }
            symbols[left] = top.merged
            symbols[right] = -2  // removed
            next[left] = next[right]
            if next[left] < count { previous[next[left]] = left }
            if previous[left] >= 0, let before = candidate(symbols, at: previous[left], left) { heap.push(before) }
            if next[left] < count, let after = candidate(symbols, at: left, next[left]) { heap.push(after) }
        }
        var merged: [Int32] = []
        var index = 0
        while index < count {
            merged.append(symbols[index])
            index = next[index]
        }
        emit(merged, into: &output)
    }

    /// Appends `symbols`, replacing each run of missing bytes (-1) by the unknown token, if any.
    private func emit(_ symbols: [Int32], into output: inout [Int32]) {
        var previousWasMissing = false
        for symbol in symbols {
            if symbol >= 0 {
                output.append(symbol)
                previousWasMissing = false
            } else {
                if !previousWasMissing, let unknownTokenID { output.append(unknownTokenID) }
                previousWasMissing = true
            }
        }
    }
}

/// A binary min-heap, enough for the merge queue.
struct MinHeap<Element: Comparable> {
    private var elements: [Element] = []

    mutating func push(_ element: Element) {
        elements.append(element)
        var child = elements.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard elements[child] < elements[parent] else { break }
            elements.swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() -> Element? {
        guard let top = elements.first else { return nil }
        let last = elements.removeLast()
        if !elements.isEmpty {
            elements[0] = last
            var parent = 0
            while true {
                let left = 2 * parent + 1
                guard left < elements.count else { break }
                var smallest = left
                if left + 1 < elements.count, elements[left + 1] < elements[left] { smallest = left + 1 }
                guard elements[smallest] < elements[parent] else { break }
                elements.swapAt(smallest, parent)
                parent = smallest
            }
        }
        return top
    }
}
