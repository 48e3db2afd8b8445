import Foundation
import LinearAlgebra
import LoRA
import Models
import Testing
import Training

/// A sweep of LoRA fine-tunes on the tiny random LLaMA (hidden 32, 4 query heads and 2 key/value
/// heads of 8, MLP 64, 2 layers), driven by token windows.
@Suite("Fine-tuning sweeps on the tiny LLaMA")
struct FineTuningSweepTests {
    static let stream = (0..<200).map { ($0 * 7 + $0 / 5) % 64 }
    static let options = FineTuningOptions(steps: 2, batchSize: 2, context: 16, learningRate: 1e-2, seed: 3)

    func makeSweep() throws -> FineTuningSweep<LlamaForCausalLM<Float>> {
        FineTuningSweep(
            model: try LlamaForCausalLM<Float>(huggingFaceDirectory: fixture("tiny_llama/model")),
            trainingWindows: TokenWindows.training(Self.stream, context: 16),
            evaluationWindows: TokenWindows.evaluation(Array(Self.stream.suffix(40)), context: 16), options: Self.options)
    }

    func setting(_ rank: Int, _ targets: TargetModules) -> FineTuningSweepSetting {
        FineTuningSweepSetting(name: "r\(rank)-\(targets.flagText)", lora: LoRAConfiguration(rank: rank, alpha: 8, targetModules: targets))
    }

    /// Two settings of two steps: both reported with `Σ r·(d_in + d_out)` trainable parameters
    /// (q_proj 32→32, v_proj 32→16, two layers: 224 per rank) and finite perplexities, the second
    /// trained exactly as a fresh model with only its adapters would be, and the model left as
    /// its base.
    @Test func aSweepTrainsEachSettingOnTheBareBase() throws {
        let sweep = try makeSweep()
        let qv = TargetModules.names(["q_proj", "v_proj"])
        let logitsBefore = sweep.model.logits(tokens: Array(Self.stream.prefix(16)), sequenceLength: 16)
        let trainableBefore = sweep.model.trainableParameterCount
        var written: [String] = []
        let report = try sweep.run([setting(1, .allLinear), setting(2, qv)], finished: { setting, model in
            written.append("\(setting.name): \(model.trainableParameterCount)")
            return "dir/" + setting.name
        })
        #expect(report.runs.map(\.setting) == ["r1-all-linear", "r2-q_proj,v_proj"])
        #expect(report.runs[1].trainableParameters == 2 * 224 && report.runs[1].targets == "q_proj,v_proj")
        // all-linear adds k_proj, o_proj and the MLP: (64 + 48 + 48 + 64 + 96 + 96 + 96)·2 per rank.
        #expect(report.runs[0].trainableParameters == 1024)
        #expect(written == ["r1-all-linear: 1024", "r2-q_proj,v_proj: 448"] && report.runs.map(\.adapter) == ["dir/r1-all-linear", "dir/r2-q_proj,v_proj"])
        for run in report.runs {
            let (before, after) = (try #require(run.initialEvaluationPerplexity), try #require(run.finalEvaluationPerplexity))
            #expect(before.isFinite && after.isFinite && run.finalLoss.isFinite && run.tokensPerSecond > 0, "\(run)")
        }
        #expect(report.runs[0].initialEvaluationPerplexity == report.runs[1].initialEvaluationPerplexity, "B = 0: both start at the base")
        #expect(sweep.model.loraLayers().isEmpty && sweep.model.trainableParameterCount == trainableBefore)
        #expect(sweep.model.logits(tokens: Array(Self.stream.prefix(16)), sequenceLength: 16) == logitsBefore)

        let fresh = try makeSweep()
        var generator = SeededGenerator(seed: Self.options.seed)
        try fresh.model.injectLoRA(setting(2, qv).lora, using: &generator)
        let alone = try FineTuning(
            model: fresh.model, trainingWindows: fresh.trainingWindows, evaluationWindows: fresh.evaluationWindows,
            options: Self.options).run()
        #expect(alone.losses.last == report.runs[1].finalLoss && alone.evaluations[2] == report.runs[1].finalEvaluationPerplexity)

        #expect(report.text().contains("r2-q_proj,v_proj") && report.figure().panels.count == 3)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(report.json().utf8)) as? [String: Any])
        #expect((json["settings"] as? [[String: Any]])?.map { $0["trainable_parameters"] as? Int } == [1024, 448])
    }

    /// A setting the model cannot take (v_proj's smaller side is 16) fails before any training;
    /// the equal-budget rank is the one whose count is closest to the budget.
    @Test func badSettingsFailFirstAndBudgetsMatch() throws {
        let sweep = try makeSweep()
        var trained = 0
        #expect(throws: LoRAInjectionError.rankExceedsModule(module: "model.layers.0.self_attn.v_proj", rank: 17, outFeatures: 16, inFeatures: 32)) {
            try sweep.run([setting(1, .allLinear), setting(17, .names(["v_proj"]))], finished: { _, _ in trained += 1; return nil })
        }
        #expect(trained == 0 && sweep.model.loraLayers().isEmpty)
        #expect(throws: LoRAInjectionError.self) { try sweep.run([setting(1, .names(["no_proj"]))]) }
        // Budget 8·224 = 1,792: all-linear at r = 2 has 2,048 (off by 256), at r = 1 1,024 (off by 768).
        #expect(try sweep.rank(matchingBudget: 8 * 224, for: setting(1, .allLinear).lora) == 2)
        #expect(try sweep.rank(matchingBudget: 100, for: setting(4, .allLinear).lora) == 1)
        #expect(try sweep.rank(matchingBudget: 1_792, for: setting(1, .names(["q_proj"])).lora) == 14)
    }
}
