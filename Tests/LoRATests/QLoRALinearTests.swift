import LinearAlgebra
import LoRA
import NN
import Quantization
import Testing

@Suite("QLoRA: LoRA adapters on an NF4 base")
struct QLoRALinearTests {
    /// `W: 6×10` quantized to NF4 with double quantization, a bias, `r = 2`, `s = 1.5`, random `A` and `B`.
    func makeLayers<T: MatrixScalar>(_: T.Type, dropout: T = 0) throws -> (quantized: QLoRALinear<T>, dense: LoRALinear<T>) {
        var generator = SeededGenerator(seed: 31)
        let weight = try NF4Matrix(quantizing: .randomNormal(rows: 6, columns: 10, using: &generator), doubleQuantization: true)
        let bias = Matrix<T>.randomNormal(rows: 1, columns: 6, using: &generator)
        let adapter = LoRAAdapter<T>(
            a: .randomNormal(rows: 2, columns: 10, using: &generator), b: .randomNormal(rows: 6, columns: 2, using: &generator),
            scale: 1.5)
        let quantized = QLoRALinear(base: NF4Linear<T>(weight: weight, bias: bias, panelRows: 4), adapter: adapter, dropout: dropout)
        let dense = LoRALinear(
            weights: LoRAWeights(base: weight.dequantized().converted(to: T.self), adapter: adapter), bias: Parameter(bias),
            dropout: dropout)
        return (quantized, dense)
    }

    /// Finite differences in Double on the dequantized base values, and Float against Double, with
    /// and without dropout (reseeded before every forward, so the differences see one mask).
    @Test(arguments: [0.0, 0.3])
    func gradientCheck(dropout: Double) throws {
        let double = try makeLayers(Double.self, dropout: dropout).quantized
        let float = try makeLayers(Float.self, dropout: Float(dropout)).quantized
        #expect(double.trainableParameters().map(\.path) == ["lora_A.weight", "lora_B.weight"])
        #expect(double.namedParameters().map(\.path) == ["lora_A.weight", "lora_B.weight", "base_layer.bias"])
        var generator = SeededGenerator(seed: 32)
        let x = Matrix<Double>.randomNormal(rows: 4, columns: 10, using: &generator)
        let forwardDouble = { (x: Matrix<Double>) in double.reseedDropout(9); return double.forward(x) }
        let forwardFloat = { (x: Matrix<Float>) in float.reseedDropout(9); return float.forward(x) }
        let check = GradientCheck.worstError(of: double, input: x, forward: forwardDouble, backward: double.backward)
        #expect(check.error <= 1e-6, "worst: \(check.key)")
        let deviation = GradientCheck.worstFloatDeviation(
            double: double, float: float, input: x, forwardDouble: forwardDouble, backwardDouble: double.backward,
            forwardFloat: forwardFloat, backwardFloat: float.backward)
        #expect(deviation <= 1e-3)
    }

    /// The same outputs, input gradients and adapter gradients as LoRALinear on the dequantized W.
    @Test func equalsLoRALinearOnTheDequantizedWeight() throws {
        let (quantized, dense) = try makeLayers(Float.self, dropout: 0.2)
        var generator = SeededGenerator(seed: 33)
        let x = Matrix<Float>.randomNormal(rows: 7, columns: 10, using: &generator)
        let g = Matrix<Float>.randomNormal(rows: 7, columns: 6, using: &generator)
        quantized.reseedDropout(4)
        dense.reseedDropout(4)
        #expect(GradientCheck.relativeError(quantized.forward(x), dense.forward(x)) <= 1e-6)
        #expect(GradientCheck.relativeError(quantized.backward(g), dense.backward(g)) <= 1e-6)
        #expect(GradientCheck.relativeError(quantized.loraA.gradient!, dense.loraA.gradient!) <= 1e-6)
        #expect(GradientCheck.relativeError(quantized.loraB.gradient!, dense.loraB.gradient!) <= 1e-6)
        // A replica shares the adapter: an update through one is seen by both.
        let replica = quantized.replica()
        quantized.loraA.value = .zeros(2, 10)
        #expect(replica.adapter.a == .zeros(2, 10))
    }

    /// A transformer whose projections are NF4 takes a LoRA configuration: each becomes a
    /// QLoRALinear, the output is unchanged (B = 0), gradients check; PiSSA throws.
    @Test func injectionWrapsQuantizedProjections() throws {
        var generator = SeededGenerator(seed: 34)
        let model = TransformerStack<Double>(depth: 1, features: 16, heads: 4, using: &generator)
        for (_, module) in model.namedModules() {
            guard let container = module as? any LinearLayerContainer<Double> else { continue }
            for (name, child) in container.children {
                guard let linear = child as? Linear<Double> else { continue }
                let weight = try NF4Matrix(quantizing: linear.weight.value.converted())
                container.replaceLinearLayer(named: name, with: NF4Linear<Double>(weight: weight, bias: linear.bias?.value))
            }
        }
        let x = Matrix<Double>.randomNormal(rows: 6, columns: 16, using: &generator)
        let before = model.forward(x, sequenceLength: 3)
        let pissa = LoRAConfiguration(rank: 2, alpha: 4, targetModules: .names(["q_proj"]), initialization: .pissa)
        #expect(throws: LoRAInjectionError.initialization(module: "blocks.0.attn.q_proj", .needsDenseBase(scheme: "pissa"))) {
            try model.injectLoRA(pissa, using: &generator)
        }
        let configuration = LoRAConfiguration(rank: 2, alpha: 4, targetModules: .regex(#".*\.(q_proj|v_proj|mlp\.2)"#))
        let report = try model.injectLoRA(configuration, using: &generator)
        #expect(report.wrapped.map(\.path) == ["blocks.0.attn.q_proj", "blocks.0.attn.v_proj", "blocks.0.mlp.2"])
        #expect(model.qloraLayers().count == 3 && model.loraLayers().isEmpty)
        #expect(model.trainableParameters().allSatisfy { $0.path.contains(".lora_") })
        #expect(model.forward(x, sequenceLength: 3) == before)
        for (_, layer) in model.qloraLayers() {
            layer.loraB.value = .randomNormal(rows: layer.outFeatures, columns: layer.rank, using: &generator)
        }
        let check = GradientCheck.worstError(
            of: model, input: x, forward: { model.forward($0, sequenceLength: 3) }, backward: model.backward)
        #expect(check.error <= 1e-6, "worst: \(check.key)")
    }
}
