// Encode throughput of the Tokenizers sources, compiled with -O outside SwiftPM (see run.sh).
import Foundation

struct VocabularyFile: Decodable {
    var tokens: [String]
    var merges: [String]
    var tokenTypes: [Int32]
    var preTokenizer: String
    var bosTokenID: Int?
    var eosTokenID: Int?
    var paddingTokenID: Int?
    var unknownTokenID: Int?
    var addBOSToken: Bool
    var addEOSToken: Bool
    var chatTemplate: String?
}

func seconds(_ body: () throws -> Void) rethrows -> Double {
    let start = ContinuousClock.now
    try body()
    return (ContinuousClock.now - start) / .seconds(1)
}

let arguments = CommandLine.arguments
guard arguments.count >= 3 else {
    print("usage: tokenizer-bench VOCABULARY.json TEXT...")
    exit(2)
}
let file = try JSONDecoder().decode(VocabularyFile.self, from: Data(contentsOf: URL(fileURLWithPath: arguments[1])))
var vocabulary = TokenizerVocabulary(
    tokens: file.tokens, merges: file.merges, tokenTypes: file.tokenTypes, preTokenizer: file.preTokenizer,
    bosTokenID: file.bosTokenID, eosTokenID: file.eosTokenID, paddingTokenID: file.paddingTokenID,
    unknownTokenID: file.unknownTokenID, addBOSToken: file.addBOSToken, addEOSToken: file.addEOSToken,
    chatTemplate: file.chatTemplate)
var text = ""
for path in arguments.dropFirst(2) { text += try String(contentsOfFile: path, encoding: .utf8) }
let megabytes = Double(text.utf8.count) / 1e6
print(String(format: "text: %.2f MB from %d files", megabytes, arguments.count - 2))

for name in ["smollm", "gpt2", "llama-bpe"] {
    vocabulary.preTokenizer = name
    var tokenizer: BPETokenizer?
    let build = try seconds { tokenizer = try BPETokenizer(vocabulary: vocabulary) }
    var ids: [Int] = []
    let best = (0..<3).map { _ in seconds { ids = tokenizer!.encode(text) } }.min()!
    let decoded = seconds { precondition(tokenizer!.decode(ids) == text, "round trip failed") }
    print(name.padding(toLength: 10, withPad: " ", startingAt: 0) + String(format: "init %5.1f ms  encode %6.1f ms = %5.1f MB/s  decode %5.1f ms  %d tokens",
                 build * 1000, best * 1000, megabytes / best, decoded * 1000, ids.count))
}

// The GPT-2 split alone: the scalar scanner against Swift Regex with the same pattern.
var pieces: [String] = []
let scan = seconds { pieces = PreTokenizer.gpt2.pieces(of: text) }
let pattern = #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#
let regex = try Regex(pattern).matchingSemantics(.unicodeScalar)
var matches: [String] = []
let regexTime = seconds { matches = text.matches(of: regex).map { String(text[$0.range]) } }
print(String(format: "gpt2 split: scanner %.1f ms, Swift Regex %.1f ms, same pieces: %@",
             scan * 1000, regexTime * 1000, pieces == matches ? "yes" : "no"))
