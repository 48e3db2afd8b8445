/// A byte-level BPE tokenizer built from GGUF tokenizer metadata, with Hugging Face's ids.
///
/// Encoding matches special tokens in the raw text first, splits the rest with the vocabulary's
/// pre-tokenizer, and merges each piece's bytes by rank. Decoding joins the tokens' bytes.
public struct BPETokenizer: Sendable {
    /// The metadata this tokenizer was built from.
    public let vocabulary: TokenizerVocabulary
    /// The split selected by `vocabulary.preTokenizer`.
    public let preTokenizer: PreTokenizer

    /// The bytes each token stands for.
    private let tokenBytes: [[UInt8]]
    /// Token ids by their bytes; a later duplicate wins, as in Hugging Face's vocabulary map.
    private let tokenForBytes: [[UInt8]: Int32]
    /// Whether each token is a control token, which `decode(_:skipSpecial: true)` leaves out.
    private let isControl: [Bool]
    private let merger: BytePairMerger
    /// Control and user-defined tokens, matched when `parseSpecial` is true.
    private let specialTokens: SpecialTokenMatcher
    /// User-defined tokens only, matched when `parseSpecial` is false.
    private let userDefinedTokens: SpecialTokenMatcher

    public var vocabularySize: Int { tokenBytes.count }

    /// Builds the tokenizer, checking that the vocabulary is consistent.
    ///
    /// Throws `TokenizerError` for an unknown pre-tokenizer, token types that do not fit the
    /// tokens, a merge that is malformed or names a text that is not a token, or a special token
    /// id outside the vocabulary.
    public init(vocabulary: TokenizerVocabulary) throws(TokenizerError) {
        let tokens = vocabulary.tokens
        guard !tokens.isEmpty else { throw .emptyVocabulary }
        preTokenizer = try PreTokenizer(name: vocabulary.preTokenizer)
        guard vocabulary.tokenTypes.isEmpty || vocabulary.tokenTypes.count == tokens.count else {
            throw .tokenTypeCountMismatch(tokens: tokens.count, tokenTypes: vocabulary.tokenTypes.count)
        }
        var types = [TokenType](repeating: .normal, count: tokens.count)
        for (index, raw) in vocabulary.tokenTypes.enumerated() {
            guard let type = TokenType(rawValue: raw) else { throw .unknownTokenType(index: index, value: raw) }
            types[index] = type
        }
        let specialIDs = [("bos", vocabulary.bosTokenID), ("eos", vocabulary.eosTokenID),
                          ("padding", vocabulary.paddingTokenID), ("unknown", vocabulary.unknownTokenID)]
        for case let (name, id?) in specialIDs where !tokens.indices.contains(id) {
            throw .tokenIDOutOfRange(name: name, id: id, vocabularySize: tokens.count)
        }

        let tokenBytes = tokens.map(Self.bytes(ofToken:))
        var tokenForBytes: [[UInt8]: Int32] = [:]
        tokenForBytes.reserveCapacity(tokens.count)
        for (id, bytes) in tokenBytes.enumerated() { tokenForBytes[bytes] = Int32(id) }

        var merges: [UInt64: UInt64] = [:]
        merges.reserveCapacity(vocabulary.merges.count)
        for (rank, merge) in vocabulary.merges.enumerated() {
            let (left, right) = try Self.parts(of: merge, index: rank)
            func id(_ bytes: [UInt8], _ text: @autoclosure () -> String) throws(TokenizerError) -> Int32 {
                guard let id = tokenForBytes[bytes] else {
                    throw .mergeNotInVocabulary(index: rank, merge: merge, missing: text())
                }
                return id
            }
            let leftBytes = Self.bytes(ofToken: left), rightBytes = Self.bytes(ofToken: right)
            let leftID = try id(leftBytes, String(left)), rightID = try id(rightBytes, String(right))
            let mergedID = try id(leftBytes + rightBytes, String(left + right))
            merges[BytePairMerger.key(leftID, rightID)] = UInt64(rank) << 32 | UInt64(UInt32(mergedID))
        }

        var specialTokens = SpecialTokenMatcher(), userDefinedTokens = SpecialTokenMatcher()
        for (id, type) in types.enumerated() where type == .control || type == .userDefined {
            specialTokens.insert(tokens[id], id: Int32(id))
            if type == .userDefined { userDefinedTokens.insert(tokens[id], id: Int32(id)) }
        }

        self.vocabulary = vocabulary
        self.tokenBytes = tokenBytes
        self.tokenForBytes = tokenForBytes
        self.isControl = types.map { $0 == .control }
        self.merger = BytePairMerger(
            merges: merges,
            byteTokens: (0...255).map { tokenForBytes[[UInt8($0)]] ?? -1 },
            unknownTokenID: vocabulary.unknownTokenID.map(Int32.init))
        self.specialTokens = specialTokens
        self.userDefinedTokens = userDefinedTokens
    }

    /// The bytes a vocabulary token stands for: its byte-alphabet spelling decoded, or, for a
    /// token with other characters (raw text such as `"<think> "`), its UTF-8.
    private static func bytes<S: StringProtocol>(ofToken token: S) -> [UInt8] {
        let token = String(token)
        return ByteLevelAlphabet.bytes(of: token) ?? Array(token.utf8)
    }

    /// The two parts of merge `index`: split at the first space after the first character.
    private static func parts(of merge: String, index: Int) throws(TokenizerError) -> (Substring, Substring) {
        guard !merge.isEmpty,
              let space = merge[merge.index(after: merge.startIndex)...].firstIndex(of: " "),
              merge.index(after: space) < merge.endIndex else {
            throw .malformedMerge(index: index, merge: merge)
        }
        return (merge[..<space], merge[merge.index(after: space)...])
    }

    /// The token ids of `text`.
    ///
    /// - Parameters:
    ///   - addSpecial: add BOS (and EOS) when the vocabulary says to (`addBOSToken`, `addEOSToken`).
    ///   - parseSpecial: match control tokens such as `<|im_start|>` in the text; when false they
    ///     are encoded as plain text. User-defined tokens are matched either way.
    public func encode(_ text: String, addSpecial: Bool = true, parseSpecial: Bool = true) -> [Int] {
        var output: [Int32] = []
        if addSpecial, vocabulary.addBOSToken, let bos = vocabulary.bosTokenID { output.append(Int32(bos)) }
        var text = text
        text.withUTF8 { bytes in
            var encoder = PieceEncoder(tokenizer: self, bytes: bytes)
            let matcher = parseSpecial ? specialTokens : userDefinedTokens
            matcher.segments(bytes, text: { encoder.encode($0, into: &output) }, special: { output.append($0) })
        }
        if addSpecial, vocabulary.addEOSToken, let eos = vocabulary.eosTokenID { output.append(Int32(eos)) }
        return output.map(Int.init)
    }

    /// Pre-tokenizes and merges the text of one `encode` call, caching each distinct piece.
    private struct PieceEncoder {
        let tokenizer: BPETokenizer
        let scalars: UTF8Scalars
        var ends: [Int] = []
        /// Where each piece's tokens already are in the output: `start << 32 | count`.
        var cache: [Piece: UInt64] = [:]

        init(tokenizer: BPETokenizer, bytes: UnsafeBufferPointer<UInt8>) {
            self.tokenizer = tokenizer
            self.scalars = UTF8Scalars(bytes)
        }

        mutating func encode(_ range: Range<Int>, into output: inout [Int32]) {
            ends.removeAll(keepingCapacity: true)
            tokenizer.preTokenizer.split(scalars, range, into: &ends)
            var start = range.lowerBound
            for end in ends {
                let piece = Piece(UnsafeBufferPointer(rebasing: scalars.bytes[start..<end]))
                start = end
                if let cached = cache[piece] {
                    let from = Int(cached >> 32), count = Int(cached & 0xFFFF_FFFF)
                    // Element by element: appending a slice of `output` to itself would copy it whole.
                    for index in from..<(from + count) { output.append(output[index]) }
                    continue
                }
                let from = output.count
                if tokenizer.preTokenizer.takesWholeTokens, let id = tokenizer.tokenForBytes[Array(piece.bytes)] {
                    output.append(id)
                } else {
                    tokenizer.merger.encode(piece.bytes, into: &output)
                }
                cache[piece] = UInt64(from) << 32 | UInt64(output.count - from)
            }
        }
    }

    /// A piece of the text being encoded, hashed and compared by its bytes.
    private struct Piece: Hashable {
        let bytes: UnsafeBufferPointer<UInt8>
        init(_ bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

        static func == (a: Piece, b: Piece) -> Bool {
            a.bytes.count == b.bytes.count && a.bytes.elementsEqual(b.bytes)
        }

        func hash(into hasher: inout Hasher) { hasher.combine(bytes: UnsafeRawBufferPointer(bytes)) }
    }

    /// The text of `ids`: their bytes joined, with invalid UTF-8 replaced by U+FFFD.
    ///
    /// Ids outside the vocabulary are skipped; with `skipSpecial`, so are control tokens.
    public func decode(_ ids: [Int], skipSpecial: Bool = false) -> String {
        var bytes: [UInt8] = []
        for id in ids where tokenBytes.indices.contains(id) && !(skipSpecial && isControl[id]) {
            bytes.append(contentsOf: tokenBytes[id])
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The vocabulary's text of token `id` (byte-alphabet spelling, such as `"Ġworld"`), or `nil`.
    public func tokenString(_ id: Int) -> String? {
        vocabulary.tokens.indices.contains(id) ? vocabulary.tokens[id] : nil
    }

    /// The id of the token spelled `token` in the vocabulary, or `nil`.
    public func tokenID(_ token: String) -> Int? {
        tokenForBytes[Self.bytes(ofToken: token)].map(Int.init)
    }
}
