/// The split applied to text before BPE, chosen by `tokenizer.ggml.pre`.
///
/// Each case is the regex its Hugging Face tokenizer.json (and llama.cpp) uses, implemented as a
/// scanner over Unicode scalars: Swift's `Regex` is slow on Linux for this work, and a scanner
/// makes the regex's backtracking outcome explicit. Pieces always cover the text without gaps.
public enum PreTokenizer: Sendable, Equatable {
    /// GPT-2: `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`.
    case gpt2
    /// Llama 3: `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
    /// ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`; a piece that is a token is taken whole.
    case llama3
    /// SmolLM and StarCoder: every `\p{N}` alone (Hugging Face's `Digits(individual_digits)`),
    /// then the GPT-2 split on the text between digits.
    case digitsThenGPT2

    /// The `tokenizer.ggml.pre` names accepted, with the split each selects (llama.cpp's spelling).
    static let names: [(String, PreTokenizer)] = [
        ("gpt2", .gpt2),
        ("llama-bpe", .llama3), ("llama3", .llama3), ("llama-v3", .llama3),
        ("smollm", .digitsThenGPT2),
    ]

    /// The accepted names, for error messages.
    public static var supportedNames: [String] { names.map(\.0) }

    /// The split `name` selects, or `TokenizerError.unknownPreTokenizer`.
    public init(name: String) throws(TokenizerError) {
        guard let match = Self.names.first(where: { $0.0 == name }) else {
            throw .unknownPreTokenizer(name)
        }
        self = match.1
    }

    /// Whether a piece that is itself a token skips the merges (Hugging Face's `ignore_merges`).
    var takesWholeTokens: Bool { self == .llama3 }

    /// Appends the end offset of each piece of `range` of `text` to `ends`.
    func split(_ text: UTF8Scalars, _ range: Range<Int>, into ends: inout [Int]) {
        switch self {
        case .gpt2: GPT2Split.split(text, range, into: &ends)
        case .llama3: Llama3Split.split(text, range, into: &ends)
        case .digitsThenGPT2:
            var start = range.lowerBound
            var offset = start
            while offset < range.upperBound {
                let (kind, length) = text.scalarClass(at: offset)
                if kind.contains(.number) {
                    GPT2Split.split(text, start..<offset, into: &ends)
                    ends.append(offset + length)
                    start = offset + length
                }
                offset += length
            }
            GPT2Split.split(text, start..<range.upperBound, into: &ends)
        }
    }

    /// The pieces of `text`, as strings (for tests and inspection).
    public func pieces(of text: String) -> [String] {
        var text = text
        return text.withUTF8 { bytes in
            var ends: [Int] = []
            split(UTF8Scalars(bytes), 0..<bytes.count, into: &ends)
            var start = 0
            return ends.map { end in
                defer { start = end }
                return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self)
            }
        }
    }
}
