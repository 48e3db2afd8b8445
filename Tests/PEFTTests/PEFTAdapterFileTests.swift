import CommandTestSupport
import Foundation
import LinearAlgebra
import LoRA
import PEFT
import TensorFormats
import Testing

@Suite("PEFT adapter directories")
struct PEFTAdapterFileTests {
    @Test("reads PEFT's directory: keys, shapes, per-module rank and scaling from the patterns")
    func readsPEFTFixture() throws {
        let (adapter, warnings) = try PEFTAdapter<Float>.read(from: peftFixture("adapter"))
        #expect(warnings.isEmpty, "\(warnings)")
        #expect(adapter.modulePaths == [
            "model.layers.0.self_attn.q_proj", "model.layers.0.self_attn.v_proj",
            "model.layers.1.self_attn.q_proj", "model.layers.1.self_attn.v_proj",
        ])
        for path in adapter.modulePaths {
            let special = path == "model.layers.1.self_attn.v_proj"
            let factors = try #require(adapter.modules[path])
            #expect(factors.a.rows == (special ? 2 : 4) && factors.a.columns == 8 && factors.b.rows == 8)
            #expect(adapter.scaling(forModule: path) == (special ? 3 : 2))
        }
        #expect(adapter.configuration.baseModelNameOrPath == "lorakit/tiny-llama-fixture")
        #expect(adapter.parameterCount == 3 * 4 * 16 + 2 * 16)
    }

    @Test("key naming is PEFT's: base_model.model.<module>.lora_A.weight and .lora_B.weight")
    func keyNaming() {
        #expect(PEFTKeys.loraA("model.layers.0.q_proj") == "base_model.model.model.layers.0.q_proj.lora_A.weight")
        #expect(PEFTKeys.loraB("h.0.attn.c_attn") == "base_model.model.h.0.attn.c_attn.lora_B.weight")
        #expect(PEFTKeys.baseWeight("h.0.attn.c_attn") == "h.0.attn.c_attn.weight")
        #expect(PEFTKeys.parse("base_model.model.x.y.lora_B.weight")?.modulePath == "x.y")
        #expect(PEFTKeys.parse("base_model.model.x.y.lora_A.weight")?.factor == "A")
        #expect(PEFTKeys.parse("base_model.model.x.lora_A.default.weight") == nil)
        #expect(PEFTKeys.parse("model.x.lora_A.weight") == nil)
        #expect(PEFTKeys.parse("base_model.model.lora_A.weight") == nil)
    }

    @Test("write then read round-trips factors and configuration, Float and Double")
    func roundTrip() throws {
        try checkRoundTrip(Float.self)
        try checkRoundTrip(Double.self)
    }

    private func checkRoundTrip<T: MatrixScalar>(_: T.Type) throws {
        var generator = SeededGenerator(seed: 31)
        var configuration = LoRAConfiguration(rank: 3, alpha: 6, targetModules: .names(["q", "v"]), useRSLoRA: true)
        configuration.rankPattern = ["blocks.1.v": 2]
        let modules: [String: PEFTAdapter<T>.Factors] = [
            "blocks.0.q": .init(a: .randomNormal(rows: 3, columns: 5, using: &generator), b: .randomNormal(rows: 4, columns: 3, using: &generator)),
            "blocks.1.v": .init(a: .randomNormal(rows: 2, columns: 5, using: &generator), b: .randomNormal(rows: 6, columns: 2, using: &generator)),
        ]
        let adapter = PEFTAdapter(configuration: configuration, modules: modules)
        let directory = try temporaryDirectory().appendingPathComponent("adapter")
        defer { try? FileManager.default.removeItem(at: directory.deletingLastPathComponent()) }
        try adapter.write(to: directory, dtype: T.self == Double.self ? .float64 : .float32)
        let file = try SafetensorsFile(contentsOf: directory.appendingPathComponent("adapter_model.safetensors"))
        #expect(file.metadata == ["format": "pt"])
        #expect(file.tensorNames == [
            "base_model.model.blocks.0.q.lora_A.weight", "base_model.model.blocks.0.q.lora_B.weight",
            "base_model.model.blocks.1.v.lora_A.weight", "base_model.model.blocks.1.v.lora_B.weight",
        ])
        #expect(try file.info("base_model.model.blocks.1.v.lora_B.weight").shape == [6, 2])
        let (back, warnings) = try PEFTAdapter<T>.read(from: directory)
        #expect(warnings.isEmpty)
        #expect(back.configuration == configuration)
        #expect(back.modules == modules)
        #expect(back.scaling(forModule: "blocks.1.v") == 6 / 2.0.squareRoot())
    }

    @Test("saved from LoRAWeights and loaded back into LoRAWeights, the forward pass is unchanged")
    func loRAWeightsRoundTrip() throws {
        var generator = SeededGenerator(seed: 32)
        let base = Matrix<Double>.randomNormal(rows: 6, columns: 5, using: &generator)
        let weights = LoRAWeights(base: base, a: .randomNormal(rows: 2, columns: 5, using: &generator),
                                  b: .randomNormal(rows: 6, columns: 2, using: &generator), scale: 4)
        let configuration = LoRAConfiguration(rank: 2, alpha: 8, targetModules: .names(["proj"]))
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try PEFTAdapter(configuration: configuration, weights: ["layer.proj": weights]).write(to: directory, dtype: .float64)
        let loaded = try PEFTAdapter<Double>.read(from: directory).adapter.loRAWeights(forModule: "layer.proj", base: base)
        let x = Matrix<Double>.randomNormal(rows: 3, columns: 5, using: &generator)
        #expect(loaded.forward(x) == weights.forward(x))
    }

    @Test("a rank that disagrees with the configuration is refused on write and read, leaving no file")
    func rankMismatch() throws {
        let configuration = LoRAConfiguration(rank: 4, alpha: 4, targetModules: .names(["q"]))
        let adapter = PEFTAdapter<Float>(configuration: configuration, modules: ["m.q": .init(a: .zeros(2, 3), b: .zeros(3, 2))])
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let directory = root.appendingPathComponent("out")
        #expect(thrownError(PEFTAdapterError.self) { try adapter.write(to: directory) } == .rankMismatch(file: directory.path, module: "m.q", configured: 4, stored: 2))
        #expect(!FileManager.default.fileExists(atPath: directory.path))
        // The same adapter written with rank 2, then read with a configuration saying 4.
        try PEFTAdapter(configuration: LoRAConfiguration(rank: 2, alpha: 4, targetModules: .names(["q"])), modules: adapter.modules).write(to: directory)
        try configuration.write(to: directory.appendingPathComponent("adapter_config.json"))
        let weights = directory.appendingPathComponent("adapter_model.safetensors").path
        #expect(thrownError(PEFTAdapterError.self) { try PEFTAdapter<Float>.read(from: directory) } == .rankMismatch(file: weights, module: "m.q", configured: 4, stored: 2))
    }

    @Test("malformed adapter directories give typed errors naming the file and key")
    func malformedDirectories() throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let configuration = LoRAConfiguration(rank: 2, alpha: 2, targetModules: .names(["q"]))
        func directory(_ name: String, tensors: [String: Matrix<Float>]) throws -> URL {
            let url = root.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
            try configuration.write(to: url.appendingPathComponent("adapter_config.json"))
            var writer = SafetensorsWriter()
            for (key, matrix) in tensors { writer.add(key, matrix, as: .float32) }
            try writer.write(to: url.appendingPathComponent("adapter_model.safetensors"))
            return url
        }
        let missingB = try directory("missing-b", tensors: [PEFTKeys.loraA("m.q"): .zeros(2, 3)])
        #expect(thrownError(PEFTAdapterError.self) { try PEFTAdapter<Float>.read(from: missingB) }
                == .missingTensor(file: missingB.appendingPathComponent("adapter_model.safetensors").path, key: PEFTKeys.loraB("m.q")))
        let mismatched = try directory("mismatch", tensors: [PEFTKeys.loraA("m.q"): .zeros(2, 3), PEFTKeys.loraB("m.q"): .zeros(4, 3)])
        #expect(thrownError(PEFTAdapterError.self) { try PEFTAdapter<Float>.read(from: mismatched) }
                == .shapeMismatch(file: mismatched.appendingPathComponent("adapter_model.safetensors").path, key: PEFTKeys.loraA("m.q"),
                                  shape: "[2, 3]", otherKey: PEFTKeys.loraB("m.q"), otherShape: "[4, 3]"))
        let extra = try directory("extra", tensors: [PEFTKeys.loraA("m.q"): .zeros(2, 3), PEFTKeys.loraB("m.q"): .zeros(4, 2),
                                                     "base_model.model.m.q.bias": .zeros(4, 1)])
        #expect(try PEFTAdapter<Float>.read(from: extra).warnings.count == 1)

        let pickleOnly = root.appendingPathComponent("pickle")
        try FileManager.default.createDirectory(at: pickleOnly, withIntermediateDirectories: true)
        try configuration.write(to: pickleOnly.appendingPathComponent("adapter_config.json"))
        try Data([0x80, 0x02]).write(to: pickleOnly.appendingPathComponent("adapter_model.bin"))
        guard case .missingAdapterFile? = thrownError(PEFTAdapterError.self, { try PEFTAdapter<Float>.read(from: pickleOnly) }) else { return }

        let badConfig = try directory("bad-config", tensors: [:])
        try Data(#"{"r": 0, "target_modules": ["q"]}"#.utf8).write(to: badConfig.appendingPathComponent("adapter_config.json"))
        guard case .configuration? = thrownError(PEFTAdapterError.self, { try PEFTAdapter<Float>.read(from: badConfig) }) else { return }

        let truncated = try directory("truncated", tensors: [PEFTKeys.loraA("m.q"): .zeros(2, 3), PEFTKeys.loraB("m.q"): .zeros(4, 2)])
        let weights = truncated.appendingPathComponent("adapter_model.safetensors")
        try Data(try Data(contentsOf: weights).prefix(20)).write(to: weights)
        guard case .tensorFile(.truncated)? = thrownError(PEFTAdapterError.self, { try PEFTAdapter<Float>.read(from: truncated) }) else { return }
    }
}
