import Foundation
import Reporting

/// One setting of a sweep (a rank, or a list of target modules at a rank): what it trained and
/// how well.
public struct SweepRun: Encodable, Sendable, Equatable {
    /// A short name, unique in its sweep: `r8`, `targets-q_proj,v_proj`.
    public var setting: String
    public var rank: Int
    /// The modules wrapped, as `--targets` spells them: `q_proj,v_proj`, `all-linear`.
    public var targets: String
    public var finalLoss: Double
    public var trainableParameters: Int
    public var tokensPerSecond: Double
    /// Final loss per thousand trainable parameters: lower is more efficient.
    public var lossPerThousandParameters: Double
    /// Held-out perplexity before and after training, when there is held-out text.
    public var initialEvaluationPerplexity: Double?
    public var finalEvaluationPerplexity: Double?
    /// The adapter written for this setting, if one was.
    public var adapter: String?

    public init(
        setting: String, rank: Int, targets: String, finalLoss: Double, trainableParameters: Int, tokensPerSecond: Double,
        initialEvaluationPerplexity: Double? = nil, finalEvaluationPerplexity: Double? = nil, adapter: String? = nil
    ) {
        self.setting = setting
        self.rank = rank
        self.targets = targets
        self.finalLoss = finalLoss
        self.trainableParameters = trainableParameters
        self.tokensPerSecond = tokensPerSecond
        lossPerThousandParameters = finalLoss / (Double(trainableParameters) / 1000)
        self.initialEvaluationPerplexity = initialEvaluationPerplexity
        self.finalEvaluationPerplexity = finalEvaluationPerplexity
        self.adapter = adapter
    }

    /// `r8: rank 8 on q_proj,v_proj, final loss 0.1234, 8,192 parameters, 0.0151 loss per 1K
    /// parameters[, held-out perplexity 45.210 → 38.002]`.
    public var summary: String {
        var line = String(format: "%@: rank %ld on %@, final loss %.4f, %@ parameters, %.4f loss per 1K parameters",
                          setting, rank, targets, finalLoss, trainableParameters.formatted(), lossPerThousandParameters)
        if let before = initialEvaluationPerplexity, let after = finalEvaluationPerplexity {
            line += String(format: ", held-out perplexity %.3f → %.3f", before, after)
        }
        return line
    }

    enum CodingKeys: String, CodingKey {
        case setting, rank, targets, adapter, finalLoss = "final_loss", trainableParameters = "trainable_parameters"
        case tokensPerSecond = "tokens_per_second", lossPerThousandParameters = "loss_per_1k_parameters"
        case initialEvaluationPerplexity = "initial_eval_perplexity", finalEvaluationPerplexity = "final_eval_perplexity"
    }
}

/// A sweep: one ``SweepRun`` per setting. Encodes as `{"settings": [...], "peak_rss_bytes"}`.
public struct SweepReport: Report, Sendable, Equatable {
    /// At least one run, in the order trained.
    public var runs: [SweepRun]
    public var peakRSSBytes: Int?

    public init(runs: [SweepRun], peakRSSBytes: Int?) {
        precondition(!runs.isEmpty, "SweepReport: no runs")
        self.runs = runs
        self.peakRSSBytes = peakRSSBytes
    }

    /// The setting with the lowest loss per thousand parameters.
    public var mostEfficient: SweepRun { runs.min { $0.lossPerThousandParameters < $1.lossPerThousandParameters }! }
    /// The setting with the lowest final loss.
    public var lowestLoss: SweepRun { runs.min { $0.finalLoss < $1.finalLoss }! }
    /// The setting with the lowest held-out perplexity after training, when every setting has one.
    public var lowestPerplexity: SweepRun? {
        runs.allSatisfy { $0.finalEvaluationPerplexity != nil }
            ? runs.min { $0.finalEvaluationPerplexity! < $1.finalEvaluationPerplexity! } : nil
    }

    /// Whether the settings differ by rank alone (a rank sweep).
    public var variesRankOnly: Bool { Set(runs.map(\.targets)).count == 1 }

    /// A table, a row per setting, then the best settings.
    public func text() -> String {
        let evaluated = runs.allSatisfy { $0.initialEvaluationPerplexity != nil && $0.finalEvaluationPerplexity != nil }
        let written = runs.contains { $0.adapter != nil }
        let header = ["setting", "rank", "targets", "trainable", "tokens/s", "final loss", "loss/1K params"]
            + (evaluated ? ["held-out ppl before", "after"] : []) + (written ? ["adapter"] : [])
        let rows = runs.map { run in
            [run.setting, "\(run.rank)", run.targets, run.trainableParameters.formatted(), String(format: "%.0f", run.tokensPerSecond),
             String(format: "%.4f", run.finalLoss), String(format: "%.4f", run.lossPerThousandParameters)]
                + (evaluated ? [String(format: "%.3f", run.initialEvaluationPerplexity!), String(format: "%.3f", run.finalEvaluationPerplexity!)] : [])
                + (written ? [run.adapter ?? ""] : [])
        }
        var lines = [TextTable(header: header, rows: rows).aligned(rightAligned: Set(1...(evaluated ? 8 : 6)).subtracting([2]))]
        lines.append("Best efficiency: \(mostEfficient.setting); lowest final loss: \(lowestLoss.setting)"
            + (lowestPerplexity.map { "; lowest held-out perplexity: \($0.setting)" } ?? ""))
        return lines.joined(separator: "\n")
    }

    enum CodingKeys: String, CodingKey {
        case runs = "settings", peakRSSBytes = "peak_rss_bytes"
    }
}
