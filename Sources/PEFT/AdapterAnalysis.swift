import Foundation
import LinearAlgebra
import LowRank
import Reporting

/// The LoRA paper's analysis (Hu et al. 2021, §7) of one adapted module's update
/// `ΔW = s·B·A` (`d×k`, rank ≤ r), and with the base weight `W`, how `ΔW` relates to it.
///
/// `ΔW`'s SVD `U·Σ·Vᵀ` is taken in factor space (``FactorSpaceSVD``: QRs of `B` and `Aᵀ`, an
/// `r×r` core), never forming `ΔW`. With `W = U_W·Σ_W·V_Wᵀ`:
/// - subspace similarity `φ(i, j) = ‖U_iᵀ·U_W,j‖²_F / min(i, j)` between the top-`i` left
///   singular vectors of `ΔW` and the top-`j` of `W` (1: one subspace holds the other; about
///   `max(i, j)/d` for random subspaces);
/// - amplification `‖ΔW‖_F / ‖U_rᵀ·W·V_r‖_F`: how much `ΔW` amplifies the directions of `W` it
///   lies in (§7.3), with `U_r`, `V_r` the top-`r` singular vectors of `ΔW`.
public struct AdapterModuleAnalysis: Encodable, Sendable {
    /// The module's path, e.g. `model.layers.0.self_attn.q_proj`.
    public var module: String
    /// `[d, k]`.
    public var shape: [Int]
    public var rank: Int
    /// `s`, e.g. `α/r`.
    public var scaling: Double
    /// `‖ΔW‖_F`.
    public var deltaNorm: Double
    /// The rank-error table of `ΔW` at ranks `1, 2, 4, … < r` and `r` (its singular values are the table's).
    public var rankErrors: RankErrorTable
    /// `‖W‖_F`, with the base.
    public var weightNorm: Double?
    /// `φ(i, j)` for `i, j = 1…r` (row `i−1`, column `j−1`), with the base and `ΔW ≠ 0`.
    public var subspaceSimilarity: [[Double]]?
    /// `‖U_rᵀ·W·V_r‖_F`, with the base and `ΔW ≠ 0`.
    public var projectedWeightNorm: Double?
    /// `‖ΔW‖_F / ‖U_rᵀ·W·V_r‖_F`, with the base and `ΔW ≠ 0`.
    public var amplification: Double?

    /// `φ(r, r)`.
    public var topSimilarity: Double? { subspaceSimilarity?.last?.last }

    enum CodingKeys: String, CodingKey {
        case module, shape, rank, scaling, amplification
        case deltaNorm = "delta_norm", rankErrors = "rank_errors", weightNorm = "weight_norm"
        case subspaceSimilarity = "subspace_similarity", projectedWeightNorm = "projected_weight_norm"
    }

    /// The analysis of module `path` of `adapter`, against its base weight `w: d×k` when given.
    public init(module path: String, of adapter: PEFTAdapter<Double>, base w: Matrix<Double>?) throws(PEFTAdapterError) {
        let factors = adapter.modules[path]!
        let (d, k, r) = (factors.b.rows, factors.a.columns, factors.a.rows)
        if let w, w.rows != d || w.columns != k {
            throw .shapeMismatch(file: "adapter", key: "\(PEFTKeys.loraB(path)) · \(PEFTKeys.loraA(path))", shape: "[\(d), \(k)]",
                                 otherKey: PEFTKeys.baseWeight(path), otherShape: "[\(w.rows), \(w.columns)]")
        }
        let s = adapter.scaling(forModule: path)
        let svd: FactorSpaceSVD
        do { svd = try FactorSpaceSVD(b: factors.b, a: factors.a) } catch {
            throw .decompositionFailed(module: path, reason: error.description)
        }
        let values = svd.singularValues.map { abs(s) * $0 }
        module = path
        shape = [d, k]
        rank = r
        scaling = s
        deltaNorm = values.reduce(0) { $0 + $1 * $1 }.squareRoot()
        let ranks = Array(sequence(first: 1) { $0 * 2 }.prefix { $0 < r }) + [r]
        do {
            rankErrors = try RankErrorTable(singularValues: values, rows: d, columns: k, ranks: ranks.filter { $0 <= min(d, k) })
        } catch {
            throw .decompositionFailed(module: path, reason: error.description)
        }
        guard let w else { return }
        weightNorm = Double(w.frobeniusNorm)
        let p = values.count  // min(d, k, r)
        guard deltaNorm > 0 else { return }  // no directions to compare
        let baseSVD: SingularValueDecomposition<Double>
        do { baseSVD = try w.singularValueDecomposition() } catch {
            throw .decompositionFailed(module: path, reason: error.description)
        }
        // Overlaps O = U_ΔWᵀ·U_W (p×p over the leading columns); φ(i, j) sums its top-left i×j block.
        let leading = Matrix(rows: d, columns: p) { i, j in baseSVD.u[i, j] }
        let overlap = svd.left.transposed * leading
        var similarity = [[Double]](repeating: [Double](repeating: 0, count: p), count: p)
        for i in 0..<p {
            var rowSum = 0.0
            for j in 0..<p {
                rowSum += overlap[i, j] * overlap[i, j]
                similarity[i][j] = (i > 0 ? similarity[i - 1][j] : 0) + rowSum
            }
        }
        for i in 0..<p { for j in 0..<p { similarity[i][j] /= Double(min(i, j) + 1) } }
        subspaceSimilarity = similarity
        let projected = (svd.left.transposed * w * svd.right.transposed).frobeniusNorm
        projectedWeightNorm = projected
        amplification = projected > 0 ? deltaNorm / projected : nil
    }
}

/// `lora analyze-adapter`'s report: one ``AdapterModuleAnalysis`` per module, in the adapter's
/// order. Encodes as `{"adapter", "model", "modules": [...]}`.
public struct AdapterAnalysis: Report, Sendable {
    public var adapter: String
    public var model: String?
    public var modules: [AdapterModuleAnalysis]

    public init(adapter: String, model: String?, modules: [AdapterModuleAnalysis]) {
        self.adapter = adapter
        self.model = model
        self.modules = modules
    }

    /// Every module of `adapter`, against `weights[<module>.weight]` (`out×in`) when given.
    public init(
        _ adapter: PEFTAdapter<Double>, path: String, model: String?, weights: [String: Matrix<Double>]?
    ) throws(PEFTAdapterError) {
        var analyses: [AdapterModuleAnalysis] = []
        for module in adapter.modulePaths {
            var base: Matrix<Double>?
            if let weights {
                guard let w = weights[PEFTKeys.baseWeight(module)] else {
                    throw .moduleNotInModel(file: path, module: module, example: nil)
                }
                base = w
            }
            analyses.append(try AdapterModuleAnalysis(module: module, of: adapter, base: base))
        }
        self.init(adapter: path, model: model, modules: analyses)
    }

    /// A markdown table, a row per module: shape, rank, `‖ΔW‖`, the relative error of the best
    /// approximations of `ΔW` at the table's ranks, and with the base `‖ΔW‖/‖W‖`, `φ(r, r)` and
    /// the amplification.
    public func text() -> String {
        let withBase = model != nil
        var header = ["module", "shape", "r", "‖ΔW‖_F", "‖ΔW−ΔW_r'‖/‖ΔW‖ at r' = 1, 2, 4, …"]
        if withBase { header += ["‖ΔW‖/‖W‖", "φ(r, r)", "‖UᵀWV‖_F", "amplification"] }
        let rows = modules.map { m -> [String] in
            var row = [m.module, "\(m.shape)", "\(m.rank)", String(format: "%.4g", m.deltaNorm),
                       m.rankErrors.rows.map { String(format: "%.3f", $0.relativeError) }.joined(separator: " ")]
            if withBase {
                row += [m.weightNorm.map { String(format: "%.3e", m.deltaNorm / $0) } ?? "—",
                        m.topSimilarity.map { String(format: "%.4f", $0) } ?? "— (ΔW = 0)",
                        m.projectedWeightNorm.map { String(format: "%.4g", $0) } ?? "—",
                        m.amplification.map { String(format: "%.2f", $0) } ?? "—"]
            }
            return row
        }
        var lines = [TextTable(header: header, rows: rows).markdown(rightAligned: withBase ? [2, 3, 5, 6, 7, 8] : [2, 3])]
        if withBase {
            lines.append("φ(r, r) = ‖U_ΔW,rᵀ·U_W,r‖²_F / r (random subspaces: about r/d); amplification = ‖ΔW‖_F / ‖U_rᵀ·W·V_r‖_F (Hu et al. 2021, §7)")
        }
        return lines.joined(separator: "\n")
    }
}
