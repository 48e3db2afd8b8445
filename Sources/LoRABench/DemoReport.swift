import LowRank
import ModelSizing
import Reporting

/// `lora demo`'s tour: the BLAS set-up, a GEMM speed check, an SVD check, a rank-error table, a
/// parameter table and a short training run. Encodes the ``BLASSetup`` keys beside `gemm`, `svd`,
/// `rank_errors`, `parameters` and `training`.
public struct DemoReport: Report, Sendable {
    public var blas: BLASSetup
    public var gemm: GEMMCheck
    public var svd: SVDCheck
    public var rankErrors: RankErrorReport
    public var parameters: ParameterTableReport
    public var training: TrainingCheck

    public init(blas: BLASSetup, gemm: GEMMCheck, svd: SVDCheck, rankErrors: RankErrorReport,
                parameters: ParameterTableReport, training: TrainingCheck) {
        self.blas = blas
        self.gemm = gemm
        self.svd = svd
        self.rankErrors = rankErrors
        self.parameters = parameters
        self.training = training
    }

    /// One line per check, the two tables in markdown.
    public func text() -> String {
        [
            "BLAS: \(blas.configuration)", "BLAS core: \(blas.core), \(blas.coreChoice), threads: \(blas.threads)", gemm.summary, svd.summary,
            "\nBest rank-r approximation of a Gaussian ΔW:", rankErrors.markdown(),
            "\nParameter efficiency at scale:", parameters.markdown(),
            "\n" + training.summary,
        ].joined(separator: "\n")
    }

    enum CodingKeys: String, CodingKey {
        case gemm, svd, training, parameters, rankErrors = "rank_errors"
    }

    public func encode(to encoder: any Encoder) throws {
        try blas.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(gemm, forKey: .gemm)
        try container.encode(svd, forKey: .svd)
        try container.encode(rankErrors, forKey: .rankErrors)
        try container.encode(parameters, forKey: .parameters)
        try container.encode(training, forKey: .training)
    }
}
