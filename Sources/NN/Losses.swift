import LinearAlgebra

/// The mean squared error `L = (1/N)·Σ (yᵢ − tᵢ)²` over all `N = n·m` elements (PyTorch's
/// `F.mse_loss`), with its gradient `∂L/∂y = 2(y − t)/N`. `y, t: n×m`.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func meanSquaredError<Scalar: MatrixScalar>(
    _ prediction: Matrix<Scalar>, _ target: Matrix<Scalar>
) -> (loss: Scalar, gradient: Matrix<Scalar>) {
    precondition(prediction.rows == target.rows && prediction.columns == target.columns,
                 "meanSquaredError: prediction \(prediction.shapeDescription) vs target \(target.shapeDescription)")
    var gradient = prediction
    gradient.axpy(-1, target)
    let count = Scalar(gradient.count)
    let loss = gradient.dot(gradient) / count
    gradient *= 2 / count
    return (loss, gradient)
}

/// The softmax cross-entropy `L = −(1/n)·Σᵢ log softmax(zᵢ)[cᵢ]` of logits `z: n×C` against
/// classes `c` (`n` integers in `0..<C`) (PyTorch's `F.cross_entropy`), with its gradient
/// `∂L/∂zᵢ = (softmax(zᵢ) − onehot(cᵢ))/n`.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func softmaxCrossEntropy<Scalar: MatrixScalar>(
    logits: Matrix<Scalar>, classes: [Int]
) -> (loss: Scalar, gradient: Matrix<Scalar>) {
    let (n, c) = (logits.rows, logits.columns)
    precondition(classes.count == n, "softmaxCrossEntropy: logits \(logits.shapeDescription) vs \(classes.count) classes")
    precondition(classes.allSatisfy { (0..<c).contains($0) }, "softmaxCrossEntropy: a class is outside 0..<\(c)")
    var gradient = logits
    var loss: Scalar = 0
    gradient.withUnsafeMutableBufferPointer { g in
        for i in 0..<n {
            let row = g.baseAddress! + i * c
            var maximum = row[0]
            for j in 1..<c { maximum = max(maximum, row[j]) }
            var sum: Scalar = 0
            for j in 0..<c { sum += Scalar.exp(row[j] - maximum) }
            loss += Scalar.log(sum) + maximum - row[classes[i]]
            for j in 0..<c { row[j] = Scalar.exp(row[j] - maximum) / sum / Scalar(n) }
            row[classes[i]] -= 1 / Scalar(n)
        }
    }
    return (loss / Scalar(n), gradient)
}
