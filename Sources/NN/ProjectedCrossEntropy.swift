import LinearAlgebra

/// The result of ``projectedCrossEntropy(hidden:weight:targets:rowsPerChunk:computingGradient:)``.
public struct ProjectedCrossEntropy<Scalar: MatrixScalar> {
    /// `Σᵢ −log softmax(hᵢ·Wᵀ)[cᵢ]` over the scored rows.
    public var totalNegativeLogLikelihood: Double
    /// Rows with a target (`cᵢ ≥ 0`).
    public var scored: Int
    /// `∂L/∂H` (`n×d`) of the mean `L = total/scored`, when asked for.
    public var hiddenGradient: Matrix<Scalar>?

    /// The mean negative log-likelihood `L` (0 when nothing is scored).
    public var meanNegativeLogLikelihood: Double { scored > 0 ? totalNegativeLogLikelihood / Double(scored) : 0 }
}

/// Softmax cross-entropy of a language-model head: logits `Z = H·Wᵀ` for hidden states `H: n×d`
/// and the output weight `W: V×d` (an embedding table, when the head is tied), against target
/// ids `c` (`n` of them; `cᵢ < 0` leaves row `i` unscored, like PyTorch's `ignore_index`).
///
/// `Z` is computed `rowsPerChunk` rows at a time (`rowsPerChunk×V` floats), so a batch never
/// holds the whole `n×V` logits matrix, let alone twice. Per chunk, with `P = softmax(Z)` row-wise:
/// `NLLᵢ = log Σⱼ e^{Zᵢⱼ} − Zᵢ,cᵢ`, and for the mean `L` over the `m` scored rows
/// `∂L/∂Zᵢ = (Pᵢ − onehot(cᵢ))/m` and `∂L/∂Hᵢ = ∂L/∂Zᵢ·W`. `W` gets no gradient (a frozen head).
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func projectedCrossEntropy<Scalar: MatrixScalar>(
    hidden: Matrix<Scalar>, weight: Matrix<Scalar>, targets: [Int], rowsPerChunk: Int = 64, computingGradient: Bool
) -> ProjectedCrossEntropy<Scalar> {
    let (n, d, v) = (hidden.rows, hidden.columns, weight.rows)
    precondition(weight.columns == d && targets.count == n,
                 "projectedCrossEntropy: H \(hidden.shapeDescription), W \(weight.shapeDescription), \(targets.count) targets")
    precondition(targets.allSatisfy { $0 < v }, "projectedCrossEntropy: a target is outside 0..<\(v)")
    precondition(rowsPerChunk > 0, "projectedCrossEntropy: \(rowsPerChunk) rows per chunk")
    let scored = targets.count { $0 >= 0 }
    var gradient: Matrix<Scalar>? = computingGradient ? .zeros(n, d) : nil
    var logits = Matrix<Scalar>.zeros(0, 0)
    var total = 0.0
    for start in stride(from: 0, to: n, by: rowsPerChunk) {
        let rows = start..<min(start + rowsPerChunk, n)
        let chunkTargets = Array(targets[rows])
        guard chunkTargets.contains(where: { $0 >= 0 }) else { continue }
        if logits.rows != rows.count { logits = .unsafeUninitialized(rows.count, v) }
        let chunk = hidden[rows: rows]
        Matrix.gemm(chunk, weight, transposeB: .transposed, into: &logits)
        total += softmaxNegativeLogLikelihood(&logits, targets: chunkTargets, gradientScale: scored > 0 ? 1 / Scalar(scored) : 0)
        if gradient != nil {
            var chunkGradient = Matrix<Scalar>.unsafeUninitialized(rows.count, d)
            Matrix.gemm(logits, weight, into: &chunkGradient)
            gradient!.withUnsafeMutableBufferPointer { g in
                chunkGradient.withUnsafeBufferPointer { c in
                    (g.baseAddress! + rows.lowerBound * d).update(from: c.baseAddress!, count: c.count)
                }
            }
        }
    }
    return ProjectedCrossEntropy(totalNegativeLogLikelihood: total, scored: scored, hiddenGradient: gradient)
}

/// `Σᵢ NLLᵢ` over the rows with a target, replacing each row of `logits` by its gradient
/// `gradientScale·(Pᵢ − onehot(cᵢ))` (zero for unscored rows). Rows are split over the threads
/// (``forEachChunk(of:minimumChunk:threads:_:)``: each row as in a serial loop) and summed in
/// row order, so the total does not depend on the thread count.
private func softmaxNegativeLogLikelihood<Scalar: MatrixScalar>(
    _ logits: inout Matrix<Scalar>, targets: [Int], gradientScale: Scalar
) -> Double {
    let v = logits.columns
    var rowTotals = [Double](repeating: 0, count: targets.count)
    logits.withUnsafeMutableBufferPointer { z in
        rowTotals.withUnsafeMutableBufferPointer { totals in
            forEachChunk(of: targets.count, minimumChunk: 8) { rows in
                for i in rows {
                    let (row, target) = (z.baseAddress! + i * v, targets[i])
                    guard target >= 0 else {
                        row.update(repeating: 0, count: v)
                        continue
                    }
                    let maximum = rowMaximum(row, count: v)
                    let chosen = row[target]
                    let sum = exponentiateShiftedSum(row, count: v, shift: maximum)
                    totals[i] = Double(Scalar.log(sum) + maximum - chosen)
                    let scale = gradientScale / sum
                    for j in 0..<v { row[j] *= scale }
                    row[target] -= gradientScale
                }
            }
        }
    }
    return rowTotals.reduce(0, +)
}
