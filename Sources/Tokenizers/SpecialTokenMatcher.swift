/// Finds special tokens in raw text, leftmost first and longest at that position.
///
/// Control and user-defined tokens (`<|im_start|>`, `<think>`) are matched before pre-tokenizing,
/// so they are never split. Leftmost-longest is how Hugging Face matches its added tokens: of two
/// overlapping tokens, the one that starts first wins, then the longer of those starting together.
struct SpecialTokenMatcher: Sendable {
    /// A byte trie; node 0 is the root.
    private var children: [[UInt8: Int32]] = [[:]]
    /// The token ending at each node, or -1.
    private var tokenAtNode: [Int32] = [-1]
    /// Whether any token starts with this byte, to skip most offsets at one load.
    private var startsToken = [Bool](repeating: false, count: 256)

    var isEmpty: Bool { tokenAtNode.count == 1 }

    /// Adds `token` as the text of `id`.
    mutating func insert(_ token: String, id: Int32) {
        let bytes = Array(token.utf8)
        guard let first = bytes.first else { return }
        startsToken[Int(first)] = true
        var node = 0
        for byte in bytes {
            if let child = children[node][byte] {
                node = Int(child)
            } else {
                children.append([:])
                tokenAtNode.append(-1)
                children[node][byte] = Int32(children.count - 1)
                node = children.count - 1
            }
        }
        tokenAtNode[node] = id
    }

    /// The longest token starting at `offset`, as its id and byte length.
    private func longestMatch(_ bytes: UnsafeBufferPointer<UInt8>, at offset: Int) -> (id: Int32, length: Int)? {
        var node = 0
        var best: (Int32, Int)?
        var index = offset
        while index < bytes.count, let child = children[node][bytes[index]] {
            node = Int(child)
            index += 1
            if tokenAtNode[node] >= 0 { best = (tokenAtNode[node], index - offset) }
        }
        return best
    }

    /// Calls `text` for each stretch between special tokens and `special` for each token, in order.
    func segments(
        _ bytes: UnsafeBufferPointer<UInt8>,
        text: (Range<Int>) -> Void,
        special: (Int32) -> Void
    ) {
        var start = 0
        var offset = 0
        while offset < bytes.count {
            if startsToken[Int(bytes[offset])], let match = longestMatch(bytes, at: offset) {
                if start < offset { text(start..<offset) }
                special(match.id)
                offset += match.length
                start = offset
            } else {
                offset += 1
            }
        }
        if start < bytes.count { text(start..<bytes.count) }
    }
}
