import NN
import LinearAlgebra
import LoRA
import Testing

@Suite("DoRA variant of LoRALinear: forward, detached-norm backward, merge and zero rows")
struct DoRALinearTests {
    /// A DoRA layer on `W: 6×5` with bias, `r = 2`, `s = 1.5`, random `A`, `B` and a magnitude
    /// `m = ‖W + s·B·A‖·(1 + noise)`, so `f = m/n ≠ 1`.
    func makeLayer<T: MatrixScalar>(_: T.Type, dropout: T = 0) -> LoRALinear<T> {
        var generator = SeededGenerator(seed: 61)
        let weights = LoRAWeights<T>(
            base: .randomNormal(rows: 6, columns: 5, using: &generator),
            a: .randomNormal(rows: 2, columns: 5, using: &generator),
            b: .randomNormal(rows: 6, columns: 2, using: &generator), scale: 1.5)
        let norms = DoRA.rowNorms(of: weights)
        let magnitude = Matrix(rows: 1, columns: 6) { _, j in norms[j] * (1 + T(j) / 10) }
        let bias = Parameter(Matrix<T>.randomNormal(rows: 1, columns: 6, using: &generator))
        return LoRALinear(weights: weights, bias: bias, dropout: dropout, variant: .dora(magnitude: magnitude))
    }

    /// `f⊙(X·(W + s·B·A)ᵀ) + b`, the definition, by explicit products.
    func definition<T: MatrixScalar>(_ layer: LoRALinear<T>, _ x: Matrix<T>) -> Matrix<T> {
        let w = layer.weights
        let direction = w.base + w.b * w.a * w.scale
        let n = DoRA.rowNorms(of: direction)
        var y = x * direction.transposed
        DoRA.scaleColumns(&y, by: zip(layer.magnitude!.value.elements, n).map { $0 / $1 })
        y.addToEachRow(layer.bias!.value)
        return y
    }

    @Test func forwardEqualsDefinitionAndStartsAsLoRA() {
        var generator = SeededGenerator(seed: 62)
        let x = Matrix<Double>.randomNormal(rows: 4, columns: 5, using: &generator)
        let layer = makeLayer(Double.self)
        #expect(GradientCheck.relativeError(layer.forward(x), definition(layer, x)) < 1e-14)
        #expect(GradientCheck.relativeError(makeLayer(Float.self).forward(x.converted()).converted(), definition(layer, x)) < 1e-6)
        #expect(layer.namedParameters().map(\.path)
                == ["base_layer.weight", "base_layer.bias", "lora_A.weight", "lora_B.weight", "lora_magnitude_vector"])
        #expect(layer.trainableParameterCount == 2 * (6 + 5) + 6)

        // PEFT's initial magnitude is ‖W + s·B·A‖, so f = 1 and the output is plain LoRA's.
        let started = LoRALinear(weights: layer.weights, bias: layer.bias, variant: .dora())
        let plain = LoRALinear(weights: layer.weights, bias: layer.bias)
        #expect(GradientCheck.relativeError(started.forward(x), plain.forward(x)) < 1e-14)
    }

    /// Finite differences of the map with `n` pinned (what "detached" means for a derivative)
    /// against the backward pass, in Double; Float against Double.
    func checkGradients(trainBias: Bool, dropout: Double) {
        let double = makeLayer(Double.self, dropout: dropout)
        let float = makeLayer(Float.self, dropout: Float(dropout))
        double.bias!.isTrainable = trainBias
        float.bias!.isTrainable = trainBias
        var generator = SeededGenerator(seed: 63)
        let x = Matrix<Double>.randomNormal(rows: 4, columns: 5, using: &generator)
        let forwardDouble = { (x: Matrix<Double>) in double.reseedDropout(9); return double.forward(x) }
        let forwardFloat = { (x: Matrix<Float>) in float.reseedDropout(9); return float.forward(x) }
        double.pinsWeightNorm = true
        let check = GradientCheck.worstError(of: double, input: x, forward: forwardDouble, backward: double.backward)
        double.pinsWeightNorm = false
        #expect(check.error <= 1e-6, "worst: \(check.key) \(check.error)")
        let deviation = GradientCheck.worstFloatDeviation(
            double: double, float: float, input: x, forwardDouble: forwardDouble, backwardDouble: double.backward,
            forwardFloat: forwardFloat, backwardFloat: float.backward)
        #expect(deviation <= 1e-3)
    }

    @Test func gradients() {
        checkGradients(trainBias: false, dropout: 0)
        checkGradients(trainBias: true, dropout: 0)
        checkGradients(trainBias: true, dropout: 0.4)
    }

    /// Without the pin, finite differences see `n` move with `A` and `B`: the backward pass is
    /// then not their derivative, which is the point of detaching (and of the pin in the check).
    @Test func unpinnedDifferencesDiffer() {
        let layer = makeLayer(Double.self)
        var generator = SeededGenerator(seed: 64)
        let x = Matrix<Double>.randomNormal(rows: 4, columns: 5, using: &generator)
        let check = GradientCheck.worstError(of: layer, input: x, forward: layer.forward, backward: layer.backward)
        #expect(check.error > 1e-3 && check.key != "input" && check.key != "lora_magnitude_vector")
    }

    @Test func mergeAndUnmergeKeepTheOutputAndRestoreW() {
        let layer = makeLayer(Float.self)
        var generator = SeededGenerator(seed: 65)
        let x = Matrix<Float>.randomNormal(rows: 7, columns: 5, using: &generator)
        let original = layer.weights.base
        let unmerged = layer.forward(x)
        layer.merge()
        #expect(layer.isMerged)
        #expect(GradientCheck.relativeError(layer.forward(x), unmerged) <= 1e-6)
        // Changing m while merged re-merges with the new factors.
        layer.magnitude!.modifyValue { $0.withUnsafeMutableBufferPointer { $0[0] *= 2 } }
        let remerged = layer.forward(x)
        layer.unmerge()
        #expect(GradientCheck.relativeError(layer.forward(x), remerged) <= 1e-6)
        #expect(GradientCheck.relativeError(layer.weights.base, original) <= 1e-6)
    }

    /// A zero row of `W + s·B·A` (here `W`'s row 2 with `B = 0`, so PEFT's `m₂ = 0` and `n₂ = 0`)
    /// gives a zero output column (plus the bias), not NaN, and a zero gradient for `m₂`; a row
    /// whose `m` is set to zero is erased by the merge and restored exactly by the unmerge.
    @Test func zeroRowsStayFiniteAndRoundTrip() {
        var generator = SeededGenerator(seed: 66)
        var w = Matrix<Double>.randomNormal(rows: 4, columns: 3, using: &generator)
        for j in 0..<3 { w[2, j] = 0 }
        let weights = LoRAWeights(base: w, a: .randomNormal(rows: 2, columns: 3, using: &generator), b: .zeros(4, 2), scale: 2)
        let layer = LoRALinear(weights: weights, bias: nil, variant: .dora())
        #expect(layer.magnitude!.value[0, 2] == 0)
        let x = Matrix<Double>.randomNormal(rows: 5, columns: 3, using: &generator)
        let y = layer.forward(x)
        #expect(y.isFinite && (0..<5).allSatisfy { y[$0, 2] == 0 })
        _ = layer.backward(.init(rows: 5, columns: 4, repeating: 1))
        #expect(layer.magnitude!.gradient!.isFinite && layer.magnitude!.gradient![0, 2] == 0)
        #expect(layer.loraB.gradient!.isFinite && layer.loraA.gradient!.isFinite)

        layer.magnitude!.modifyValue { $0[0, 0] = 0 }
        let before = layer.forward(x)
        layer.merge()
        #expect((0..<3).allSatisfy { layer.weights.base[0, $0] == 0 && layer.weights.base[2, $0] == 0 })
        #expect(layer.forward(x).maxAbsoluteDifference(before) <= 1e-14)
        layer.unmerge()
        #expect(layer.weights.base.maxAbsoluteDifference(w) <= 1e-15)
    }

    @Test func replicaSharesTheMagnitude() {
        let layer = makeLayer(Double.self)
        let replica = layer.replica()
        layer.magnitude!.modifyValue { $0[0, 1] = 3 }
        #expect(replica.magnitude!.value[0, 1] == 3 && replica.isDoRA)
        var generator = SeededGenerator(seed: 67)
        let x = Matrix<Double>.randomNormal(rows: 3, columns: 5, using: &generator)
        #expect(replica.forward(x) == layer.forward(x))
        _ = replica.backward(x * layer.weights.base.transposed)
        #expect(replica.magnitude!.gradient != nil && layer.magnitude!.gradient == nil)
    }

    /// `use_dora` in the configuration makes every injected layer a DoRA layer whose magnitude
    /// starts at the row norms of W, so the model's output is unchanged.
    @Test func injectionAppliesUseDoRA() throws {
        var generator = SeededGenerator(seed: 68)
        let model = TransformerStack<Double>(depth: 1, features: 16, heads: 2, using: &generator)
        let x = Matrix<Double>.randomNormal(rows: 8, columns: 16, using: &generator)
        let before = model.forward(x, sequenceLength: 4)
        var configuration = LoRAConfiguration(rank: 2, alpha: 4, targetModules: .names(["q_proj", "v_proj"]))
        configuration.useDoRA = true
        let report = try model.injectLoRA(configuration, using: &generator)
        let layers = model.loraLayers()
        #expect(layers.count == 2 && layers.allSatisfy(\.layer.isDoRA))
        #expect(report.trainableParameters == 2 * (2 * (16 + 16) + 16))
        for (_, layer) in layers {
            #expect(layer.magnitude!.value.elements == DoRA.rowNorms(of: layer.weights.base))
        }
        #expect(GradientCheck.relativeError(model.forward(x, sequenceLength: 4), before) <= 1e-14)
    }
}
