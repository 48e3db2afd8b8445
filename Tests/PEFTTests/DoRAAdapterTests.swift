import Foundation
import LinearAlgebra
import LoRA
import NN
import PEFT
import TensorFormats
import Testing

@Suite("DoRA adapters written by PEFT 0.21.2: files, forward, gradients, merge")
struct DoRAAdapterTests {
    let base: SafetensorsFile
    let references: SafetensorsFile

    init() throws {
        base = try SafetensorsFile(contentsOf: variantFixture("dora_mlp/base_model.safetensors"))
        references = try SafetensorsFile(contentsOf: variantFixture("dora_mlp/references.safetensors"))
    }

    /// LoRAKit's MLP (`0`: Linear 8→12, `1`: GELU, `2`: Linear 12→8) with the fixture's base weights
    /// and, on modules `0` and `2`, the adapter's layers.
    func model<T: MatrixScalar>(_ adapter: PEFTAdapter<T>) throws -> MLP<T> {
        var generator = SeededGenerator(seed: 1)
        let mlp = MLP<T>(features: 8, hiddenFeatures: 12, using: &generator)
        for module in ["0", "2"] {
            let layer = adapter.layer(
                forModule: module, base: try tensor(base, "\(module).weight"),
                bias: Parameter(try tensor(base, "\(module).bias", as: T.self).transposed, trainable: false))
            layer.isTraining = false
            mlp.replaceLinearLayer(named: module, with: layer)
        }
        return mlp
    }

    @Test("reads use_dora and the magnitudes; writes them back as PEFT does")
    func readsAndWrites() throws {
        let (adapter, warnings) = try PEFTAdapter<Float>.read(from: variantFixture("dora_mlp/adapter"))
        #expect(adapter.configuration.useDoRA && adapter.modulePaths == ["0", "2"])
        #expect(adapter.modules["0"]!.magnitude?.shapeDescription == "1×12" && adapter.modules["2"]!.magnitude?.shapeDescription == "1×8")
        #expect(!warnings.contains { $0.contains("lora_magnitude_vector") || $0.contains("use_dora") }, "\(warnings)")
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try adapter.write(to: directory)
        let file = try SafetensorsFile(contentsOf: directory.appendingPathComponent(PEFTAdapter<Float>.weightsFileName))
        #expect(try file.info(PEFTKeys.magnitude("0")).shape == [12])
        let reread = try PEFTAdapter<Float>.read(from: directory).adapter
        #expect(reread.modules == adapter.modules && reread.configuration.useDoRA)
    }

    @Test("forward equals PEFT's to 1e-6 max abs (Double and Float), per layer and through the MLP")
    func forwardMatchesPEFT() throws {
        let x: Matrix<Double> = try tensor(references, "input")
        let expected: Matrix<Float> = try tensor(references, "output")
        let double = try model(PEFTAdapter<Double>.read(from: variantFixture("dora_mlp/adapter")).adapter)
        let float = try model(PEFTAdapter<Float>.read(from: variantFixture("dora_mlp/adapter")).adapter)
        let doubleError = maxAbsoluteError(double.forward(x), expected)
        let floatError = maxAbsoluteError(float.forward(x.converted()), expected)
        let layerError = maxAbsoluteError((double.children[0].module as! LoRALinear<Double>).forward(x), try tensor(references, "layer0_output", as: Float.self))
        #expect(doubleError <= 1e-6 && floatError <= 1e-6 && layerError <= 1e-6, "\(doubleError) \(floatError) \(layerError)")
    }

    @Test("gradients of Σ R⊙y equal PEFT's autograd (norm detached): input, A, B, m to 1e-5 relative")
    func gradientsMatchPEFT() throws {
        let adapter = try PEFTAdapter<Double>.read(from: variantFixture("dora_mlp/adapter")).adapter
        let mlp = try model(adapter)
        let x: Matrix<Double> = try tensor(references, "input")
        _ = mlp.forward(x)
        let inputGradient = mlp.backward(try tensor(references, "projection"))
        var worst = GradientCheck.relativeError(inputGradient, try tensor(references, "input_gradient", as: Double.self))
        for (path, parameter) in mlp.trainableParameters() {
            var expected: Matrix<Double> = try tensor(references, "gradient.\(path)" + (path.hasSuffix("vector") ? ".weight" : ""))
            if path.hasSuffix("vector") { expected = expected.transposed }
            worst = max(worst, GradientCheck.relativeError(parameter.gradient!, expected))
        }
        #expect(mlp.trainableParameters().count == 6)
        #expect(worst <= 1e-5, "worst relative error \(worst)")
    }

    /// The merged weights against `merge_and_unload`; every other tensor copied unchanged.
    func checkMerge(_ folder: String) throws -> Double {
        let base = try SafetensorsFile(contentsOf: variantFixture("\(folder)/base_model.safetensors"))
        let reference = try SafetensorsFile(contentsOf: variantFixture("\(folder)/merged_reference.safetensors"))
        let adapter = try PEFTAdapter<Double>.read(from: variantFixture("\(folder)/adapter")).adapter
        let (writer, reports) = try AdapterMerge.merge(base: base, adapter: adapter)
        let merged = try SafetensorsFile(data: writer.encoded(), path: "merged")
        var worst = 0.0
        for name in base.tensorNames {
            let error = maxAbsoluteError(try tensor(merged, name, as: Double.self), try tensor(reference, name, as: Double.self))
            if reports.contains(where: { $0.key == name }) { worst = max(worst, error) } else { #expect(error == 0, "\(name)") }
        }
        #expect(reports.count == adapter.modules.count)
        return worst
    }

    @Test("merge equals PEFT's merge_and_unload to 1e-6 max abs (MLP and tiny LLaMA q/v, rsLoRA, rank pattern)")
    func mergeMatchesPEFT() throws {
        let mlp = try checkMerge("dora_mlp"), llama = try checkMerge("dora_llama")
        #expect(mlp <= 1e-6 && llama <= 1e-6, "max abs: MLP \(mlp), LLaMA \(llama)")
    }

    @Test("a merged LoRAKit layer's forward equals PEFT's merged model's")
    func mergedLayerForward() throws {
        let mlp = try model(PEFTAdapter<Double>.read(from: variantFixture("dora_mlp/adapter")).adapter)
        for (_, layer) in mlp.namedModules().compactMap({ ($0.0, $0.1 as? LoRALinear<Double>) }) { layer?.merge() }
        let merged = try SafetensorsFile(contentsOf: variantFixture("dora_mlp/merged_output.safetensors"))
        let error = maxAbsoluteError(mlp.forward(try tensor(references, "input")), try tensor(merged, "output", as: Float.self))
        #expect(error <= 1e-6, "\(error)")
    }

    @Test("use_dora without magnitudes, magnitudes of the wrong shape or without use_dora: typed one-line errors or a warning")
    func inconsistentDoRA() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        var configuration = LoRAConfiguration(rank: 1, alpha: 1, targetModules: .names(["p"]))
        configuration.useDoRA = true
        let factors = PEFTAdapter<Float>.Factors(a: .zeros(1, 3), b: .zeros(2, 1))
        #expect(throws: PEFTAdapterError.doraMismatch(file: directory.path, module: "p", useDoRA: true)) {
            try PEFTAdapter(configuration: configuration, modules: ["p": factors]).write(to: directory)
        }
        configuration.useDoRA = false
        let withMagnitude = PEFTAdapter<Float>.Factors(a: .zeros(1, 3), b: .zeros(2, 1), magnitude: .zeros(1, 2))
        #expect(throws: PEFTAdapterError.doraMismatch(file: directory.path, module: "p", useDoRA: false)) {
            try PEFTAdapter(configuration: configuration, modules: ["p": withMagnitude]).write(to: directory)
        }
        // A DoRA file whose configuration lost use_dora: read as LoRA, with a warning naming the key.
        try PEFTAdapter(configuration: configuration, modules: ["p": factors]).write(to: directory)
        var writer = SafetensorsWriter(metadata: ["format": "pt"])
        writer.add(PEFTKeys.loraA("p"), Matrix<Float>.zeros(1, 3), as: .float32)
        writer.add(PEFTKeys.loraB("p"), Matrix<Float>.zeros(2, 1), as: .float32)
        writer.add(PEFTKeys.magnitude("p"), Matrix<Float>.zeros(3, 1), as: .float32, shape: [3])
        try writer.write(to: directory.appendingPathComponent(PEFTAdapter<Float>.weightsFileName))
        let (plain, warnings) = try PEFTAdapter<Float>.read(from: directory)
        #expect(plain.modules["p"]!.magnitude == nil && warnings.contains { $0.contains(PEFTKeys.magnitude("p")) })
        configuration.useDoRA = true
        try configuration.write(to: directory.appendingPathComponent(PEFTAdapter<Float>.configurationFileName))
        let file = directory.appendingPathComponent(PEFTAdapter<Float>.weightsFileName).path
        #expect(throws: PEFTAdapterError.shapeMismatch(file: file, key: PEFTKeys.magnitude("p"), shape: "[3]",
                                                       otherKey: PEFTKeys.loraB("p"), otherShape: "[2, 1]")) {
            try PEFTAdapter<Float>.read(from: directory)
        }
    }
}
