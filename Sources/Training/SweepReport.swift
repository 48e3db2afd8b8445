import Foundation
import Reporting

/// One rank of a rank sweep: final loss against trainable parameters.
public struct SweepRun: Encodable, Sendable, Equatable {
    public var rank: Int
    public var finalLoss: Double
    public var trainableParameters: Int
    public var tokensPerSecond: Double
    /// Final loss per thousand trainable parameters: lower is more efficient.
    public var lossPerThousandParameters: Double

    public init(rank: Int, finalLoss: Double, trainableParameters: Int, tokensPerSecond: Double) {
        self.rank = rank
        self.finalLoss = finalLoss
        self.trainableParameters = trainableParameters
        self.tokensPerSecond = tokensPerSecond
        lossPerThousandParameters = finalLoss / (Double(trainableParameters) / 1000)
    }

    /// `rank    8: final loss 0.1234, 8,192 parameters, 0.0151 loss per 1K parameters`.
    public var summary: String {
        String(format: "rank %4d: final loss %.4f, %@ parameters, %.4f loss per 1K parameters",
               rank, finalLoss, trainableParameters.formatted(), lossPerThousandParameters)
    }

    enum CodingKeys: String, CodingKey {
        case rank, finalLoss = "final_loss", trainableParameters = "trainable_parameters"
        case tokensPerSecond = "tokens_per_second", lossPerThousandParameters = "loss_per_1k_parameters"
    }
}

/// A rank sweep: one ``SweepRun`` per rank. Encodes as `{"runs": [...], "peak_rss_bytes"}`.
public struct SweepReport: Report, Sendable, Equatable {
    /// At least one run, in the order trained.
    public var runs: [SweepRun]
    public var peakRSSBytes: Int?

    public init(runs: [SweepRun], peakRSSBytes: Int?) {
        precondition(!runs.isEmpty, "SweepReport: no runs")
        self.runs = runs
        self.peakRSSBytes = peakRSSBytes
    }

    /// The rank with the lowest loss per thousand parameters.
    public var mostEfficient: SweepRun { runs.min { $0.lossPerThousandParameters < $1.lossPerThousandParameters }! }
    /// The rank with the lowest final loss.
    public var lowestLoss: SweepRun { runs.min { $0.finalLoss < $1.finalLoss }! }

    /// A line per rank, then the ranks of best efficiency and lowest loss.
    public func text() -> String {
        (runs.map(\.summary) + ["Best efficiency at rank \(mostEfficient.rank); lowest loss at rank \(lowestLoss.rank)"])
            .joined(separator: "\n")
    }

    enum CodingKeys: String, CodingKey {
        case runs, peakRSSBytes = "peak_rss_bytes"
    }
}
