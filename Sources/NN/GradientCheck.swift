import LinearAlgebra

/// Gradient checking: a module's backward pass against central finite differences, and the
/// Float backward pass against the Double one (PyTorch's `torch.autograd.gradcheck`, for modules).
///
/// All checks use the scalar loss `L = Σ R ⊙ f(X)` with a fixed random `R` of the output's shape,
/// so `∂L/∂Y = R`. Gradients are keyed by `"input"` and by parameter path.
public enum GradientCheck {
    /// The gradients of `L = Σ R ⊙ f(X)` (a fixed random `R`) with respect to the input (key
    /// `"input"`) and every trainable parameter of `module` (keys are parameter paths), from the
    /// module's backward pass.
    public static func analyticGradients<T: MatrixScalar, M: Module<T>>(
        of module: M, input: Matrix<T>, projection: Matrix<T>,
        forward: (Matrix<T>) -> Matrix<T>, backward: (Matrix<T>) -> Matrix<T>
    ) -> [String: Matrix<T>] {
        _ = forward(input)
        module.zeroGradients()
        var gradients = ["input": backward(projection)]
        for (path, parameter) in module.trainableParameters() { gradients[path] = parameter.gradient ?? .zeros(parameter.value.rows, parameter.value.columns) }
        return gradients
    }

    /// The same gradients by central differences, `(L(θ + h) − L(θ − h))/2h` per element.
    public static func numericalGradients<T: MatrixScalar, M: Module<T>>(
        of module: M, input: Matrix<T>, projection: Matrix<T>, step: T,
        forward: (Matrix<T>) -> Matrix<T>
    ) -> [String: Matrix<T>] {
        func loss(_ x: Matrix<T>) -> T { forward(x).dot(projection) }
        func differences(_ count: Int, perturb: (Int, T) -> Void, evaluate: () -> T) -> [T] {
            (0..<count).map { index in
                perturb(index, step)
                let plus = evaluate()
                perturb(index, -2 * step)
                let minus = evaluate()
                perturb(index, step)
                return (plus - minus) / (2 * step)
            }
        }
        var x = input
        var gradients = [
            "input": Matrix(rows: x.rows, columns: x.columns, elements: differences(
                x.count, perturb: { i, h in x.withUnsafeMutableBufferPointer { $0[i] += h } }, evaluate: { loss(x) }))
        ]
        for (path, parameter) in module.trainableParameters() {
            let shape = parameter.value.shape
            gradients[path] = Matrix(rows: shape.rows, columns: shape.columns, elements: differences(
                parameter.count,
                perturb: { i, h in parameter.modifyValue { value in value.withUnsafeMutableBufferPointer { $0[i] += h } } },
                evaluate: { loss(input) }))
        }
        return gradients
    }

    /// `‖x − y‖_F / ‖y‖_F` (or `‖x‖_F` when `y = 0`).
    public static func relativeError<T: MatrixScalar>(_ x: Matrix<T>, _ y: Matrix<T>) -> T {
        let reference = y.frobeniusNorm
        return (x - y).frobeniusNorm / (reference > 0 ? reference : 1)
    }

    /// The largest relative error between the backward pass and central differences (Double), over
    /// the input and every trainable parameter, with the key of the worst.
    public static func worstError<M: Module<Double>>(
        of module: M, input: Matrix<Double>, seed: UInt64 = 99,
        forward: (Matrix<Double>) -> Matrix<Double>, backward: (Matrix<Double>) -> Matrix<Double>
    ) -> (error: Double, key: String) {
        let output = forward(input)
        var generator = SeededGenerator(seed: seed)
        let projection = Matrix<Double>.randomNormal(rows: output.rows, columns: output.columns, using: &generator)
        let analytic = analyticGradients(of: module, input: input, projection: projection, forward: forward, backward: backward)
        let numerical = numericalGradients(of: module, input: input, projection: projection, step: 1e-5, forward: forward)
        precondition(Set(analytic.keys) == Set(numerical.keys))
        return analytic.keys.map { (relativeError(analytic[$0]!, numerical[$0]!), $0) }.max { $0.0 < $1.0 }!
    }

    /// Copies every writable parameter value of `source` (Double) into `target` (Float), which must
    /// have the same structure; read-only parameters must have been built equal.
    private static func copyParameters<M: Module<Double>, N: Module<Float>>(from source: M, to target: N) {
        let sourceParameters = source.namedParameters()
        let targetParameters = target.namedParameters()
        precondition(sourceParameters.map(\.path) == targetParameters.map(\.path))
        for (s, t) in zip(sourceParameters, targetParameters) where t.parameter.isWritable {
            t.parameter.value = s.parameter.value.converted()
        }
    }

    /// The largest relative difference between the Float and the Double backward pass of the same
    /// module (writable Float parameters are set to the Double values first), over the input and
    /// every trainable parameter.
    public static func worstFloatDeviation<M: Module<Double>, N: Module<Float>>(
        double: M, float: N, input: Matrix<Double>,
        forwardDouble: (Matrix<Double>) -> Matrix<Double>, backwardDouble: (Matrix<Double>) -> Matrix<Double>,
        forwardFloat: (Matrix<Float>) -> Matrix<Float>, backwardFloat: (Matrix<Float>) -> Matrix<Float>
    ) -> Double {
        copyParameters(from: double, to: float)
        let output = forwardDouble(input)
        var generator = SeededGenerator(seed: 98)
        let projection = Matrix<Double>.randomNormal(rows: output.rows, columns: output.columns, using: &generator)
        let reference = analyticGradients(
            of: double, input: input, projection: projection, forward: forwardDouble, backward: backwardDouble)
        let single = analyticGradients(
            of: float, input: input.converted(), projection: projection.converted(), forward: forwardFloat,
            backward: backwardFloat)
        return reference.keys.map { relativeError(single[$0]!.converted(to: Double.self), reference[$0]!) }.max()!
    }
}
