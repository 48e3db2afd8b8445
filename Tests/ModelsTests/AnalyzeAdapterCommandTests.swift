import CommandTestSupport
import Foundation
import Testing

/// `lora analyze-adapter` on the tiny LLaMA's PEFT adapter.
@Suite("lora analyze-adapter (processes)")
struct AnalyzeAdapterCommandTests {
    @Test func reportsEveryModuleWithTheBaseAndDrawsTheFigure() throws {
        let directory = try makeTemporaryDirectory(prefix: "lorakit-analyze")
        defer { try? FileManager.default.removeItem(at: directory) }
        let svg = directory.appendingPathComponent("analysis.svg").path
        let run = try runLora(["analyze-adapter", ModelMergeTests.tinyAdapter.path, "--model", ModelMergeTests.tinyGGUF.path,
                               "--format", "json", "--plot", svg])
        #expect(run.status == 0, "\(run.standardError)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(run.standardOutput.utf8)) as? [String: Any])
        let modules = try #require(json["modules"] as? [[String: Any]])
        #expect(modules.map { $0["module"] as? String } == ["model.layers.0.self_attn.q_proj", "model.layers.0.self_attn.v_proj",
                                                              "model.layers.1.self_attn.q_proj", "model.layers.1.self_attn.v_proj"])
        for module in modules {
            let similarity = try #require(module["subspace_similarity"] as? [[Double]])
            #expect(similarity.count == 4 && similarity.allSatisfy { $0.count == 4 && $0.allSatisfy { (0...1.000001).contains($0) } })
            #expect((module["amplification"] as? Double ?? 0) > 0)
        }
        #expect(try String(contentsOfFile: svg, encoding: .utf8).contains("Subspace similarity of ΔW and W"))

        let alone = try runLora(["analyze-adapter", ModelMergeTests.tinyAdapter.path])
        #expect(alone.status == 0 && alone.standardOutput.contains("| model.layers.0.self_attn.q_proj | [32, 32] | 4 |"), "\(alone.standardError)")
        #expect(!alone.standardOutput.contains("amplification"), "no base, no comparison with it")
        let missing = try runLora(["analyze-adapter", directory.path])
        #expect(missing.status == 1 && missing.standardError.hasPrefix("Error: "), "\(missing.standardError)")
    }
}
