import CommandTestSupport
import Foundation
import Testing

/// The committed tiny GGUF of ModelsTests' fixtures (no tokenizer).
private let tinyGGUF = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("../ModelsTests/Fixtures/tiny_llama/tiny_llama.q4_1.gguf").standardized.path

@Suite("lora generate, perplexity, tokenize and inspect on GGUF files")
struct LanguageModelCommandsTests {
    @Test("a short name that is not cached says the command that fetches it, on one line, exit 1")
    func notCached() throws {
        var environment = ProcessInfo.processInfo.environment
        environment["LORAKIT_CACHE"] = "/nonexistent-lorakit-cache"
        environment["LORAKIT_NO_BLAS_FIX"] = "1"
        for arguments in [["generate", "--model", "smollm2", "--prompt", "hi"], ["tokenize", "--model", "smollm2", "--text", "hi"]] {
            let run = try runLora(arguments, environment: environment)
            #expect(run.status == 1)
            #expect(run.standardError.contains("run `scripts/fetch-model smollm2`"))
            #expect(run.standardError.split(separator: "\n").count == 1, "\(run.standardError)")
        }
    }

    @Test("inspect lists a GGUF's metadata and tensors, as text and JSON")
    func inspect() throws {
        let text = try runLora(["inspect", tinyGGUF])
        #expect(text.status == 0)
        #expect(text.standardOutput.contains("| llama.block_count | 2 |"))
        #expect(text.standardOutput.contains("| blk.0.attn_q.weight | Q4_1 | [32, 32] | 640 |"))
        let json = try runLora(["inspect", tinyGGUF, "--format", "json"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.standardOutput.utf8)) as? [String: Any])
        #expect((object["tensors"] as? [Any])?.count == 20)
        #expect((object["metadata"] as? [String: String])?["general.architecture"] == "llama")
    }

    @Test("bad input is refused on one line with exit 1: no tokenizer, empty text, context 0, a truncated file")
    func refusals() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("lorakit-lm-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let empty = directory.appendingPathComponent("empty.txt")
        try Data().write(to: empty)
        let text = directory.appendingPathComponent("text.txt")
        try Data("To be, or not to be".utf8).write(to: text)
        let cut = directory.appendingPathComponent("cut.gguf")
        try Data(try Data(contentsOf: URL(fileURLWithPath: tinyGGUF)).prefix(3000)).write(to: cut)
        let cases: [([String], String)] = [
            (["generate", "--model", tinyGGUF, "--prompt", "hi"], "has no tokenizer"),
            (["perplexity", "--model", tinyGGUF, "--text", empty.path], "the file is empty"),
            (["perplexity", "--model", tinyGGUF, "--text", text.path, "--context", "0"], "--context must be at least 2"),
            (["generate", "--model", cut.path, "--prompt", "hi"], cut.path + ": "),
            (["generate", "--model", tinyGGUF, "--prompt", "hi", "--top-p", "0"], "--top-p"),
            (["generate", "--model", tinyGGUF, "--prompt", "hi", "--temperature", "inf"], "--temperature must be finite and ≥ 0, got inf"),
        ]
        for (arguments, message) in cases {
            let run = try runLora(arguments)
            #expect(run.status != 0, "\(arguments)")
            #expect(run.standardError.contains(message), "\(arguments): \(run.standardError)")
        }
    }
}
