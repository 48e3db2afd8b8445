// The Swift snippets of README.md, compiled and run. Every region between `// readme:begin` and
// `// readme:end` is one ```swift block of the README, indented by four spaces; the last test
// compares the two lists, so a snippet changed in one place and not the other fails the suite.
// Code outside the markers (set-up, checks) is not in the README.
import Foundation
import LoRAKit
import Testing

@Test func atTheMachinesSpeed() {
    // readme:begin
    FreedMemoryReuse.keepFreedBlocks()                  // freed blocks ≤ 256 MiB stay mapped (glibc)
    if let warning = BLAS.diagnostic { print(warning) } // one line when OpenBLAS chose slower kernels
    let blas = BLAS.configuration                       // version, chosen and recommended core, threads
    // readme:end
    #expect(blas.threads == BLAS.threadCount)
    #expect(BLAS.diagnostic == nil || blas.chosenCoreIsWorse)
}

@Test func analyseAMatrix() throws {
    // readme:begin
    var rng = SeededGenerator(seed: 42)
    let w = Matrix<Float>.randomNormal(rows: 512, columns: 256, using: &rng)
    let svd = try w.singularValueDecomposition()      // U: 512×256, S: 256, Vᵀ: 256×256
    let best8 = svd.reconstructed(rank: 8)             // the best rank-8 approximation
    let (b, a) = try w.loraFactors(rank: 16)           // B: 512×16, A: 16×256
    let table = try RankErrorTable(matrix: w, ranks: [4, 8, 16, 32])
    let error16 = table.rows[2].relativeError          // ‖W − W₁₆‖_F / ‖W‖_F
    let r90 = try table.spectrum.smallestRank(reachingEnergy: 0.9)
    let fast = try w.truncatedSVD(rank: 32, method: .randomized(RandomizedSVDOptions(seed: 1)))
    // readme:end
    #expect(best8.rows == 512 && best8.columns == 256)
    #expect(b.rows == 512 && b.columns == 16 && a.rows == 16 && a.columns == 256)
    #expect(abs(error16 - table.rows[2].tailBound) < 1e-4)
    #expect(r90 != nil && r90! > 32)
    #expect(fast.singularValues.count == 32)
}

@Test func trainAnAdapter() throws {
    // readme:begin
    var rng = SeededGenerator(seed: 42)
    let model = TransformerStack<Float>(depth: 2, features: 64, heads: 4, using: &rng)
    let lora = LoRAConfiguration(rank: 8, alpha: 16, targetModules: .names(["q_proj", "k_proj", "v_proj", "o_proj"]))
    let report = try model.injectLoRA(lora, using: &rng)   // wraps blocks.0.attn.q_proj, …

    let data = SequenceRegressionData<Float>(samples: 64, sequenceLength: 16, features: 64, using: &rng)
    let options = TrainingOptions(epochs: 5, batchSize: 16, learningRate: 1e-3, replicas: 2)
    let run = SequenceRegressionTrainer(model: model, data: data, options: options).train()
    let check = model.checkMergeRoundTrip(probe: data.inputs[rows: 0..<16], sequenceLength: 16)
    // readme:end
    #expect(report.wrapped.count == 8)
    #expect(report.trainableParameters == 8 * 8 * (64 + 64))
    #expect(run.losses.count == 5 && run.finalLoss < run.initialLoss)
    #expect(check.relativeMergedDifference < 1e-5 && check.maxWeightDrift < 1e-5)
}

@Test func trainWithTheGenericTrainer() throws {
    var rng = SeededGenerator(seed: 43)
    let model = TransformerStack<Float>(depth: 1, features: 32, heads: 4, using: &rng)
    try model.injectLoRA(LoRAConfiguration(rank: 4, alpha: 8, targetModules: .names(["q_proj", "v_proj"])), using: &rng)
    let data = SequenceRegressionData<Float>(samples: 32, sequenceLength: 8, features: 32, using: &rng)
    // readme:begin
    let optimizer = Adam<Float>.adamW(groups: model.loraPlusGroups(learningRate: 1e-3, ratio: 16))  // LoRA+
    let trainer = Trainer(model: model, objective: SequenceRegressionObjective<Float>(), optimizer: optimizer, replicas: 2)
    let batches = data.sequenceBatches(of: 8)
    let history = trainer.train(epochs: 3, batches: { _ in batches.shuffled(using: &rng) }, evaluation: batches)
    // readme:end
    #expect(history.steps == 3 * 4)
    #expect(history.finalLoss < history.initialLoss)
}

@Test func extractAnAdapter() throws {
    let directory = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: directory) }
    try writeCheckpoints(in: directory)
    // readme:begin
    let base = try SafetensorsFile(contentsOf: directory.appendingPathComponent("base.safetensors"))
    let tuned = try SafetensorsFile(contentsOf: directory.appendingPathComponent("tuned.safetensors"))
    let (adapter, modules) = try AdapterExtraction.extract(base: base, tuned: tuned, selection: .rank(4))
    try adapter.write(to: directory.appendingPathComponent("adapter"))
    // readme:end
    #expect(modules.map(\.module) == ["layers.0.q_proj"])
    #expect(modules[0].rank == 4 && modules[0].relativeError < 1e-5)
}

@Test func inspectAndMergeAnAdapter() throws {
    let directory = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: directory) }
    try writeCheckpoints(in: directory)
    try writeAdapter(in: directory)
    // readme:begin
    let (adapter, warnings) = try PEFTAdapter<Double>.read(from: directory.appendingPathComponent("adapter"))
    let ranks = adapter.modulePaths.map { ($0, adapter.modules[$0]!.rank, adapter.scaling(forModule: $0)) }

    let base = try SafetensorsFile(contentsOf: directory.appendingPathComponent("base.safetensors"))
    let (merged, reports) = try AdapterMerge.merge(base: base, adapter: adapter)   // W' = W + s·B·A
    try merged.write(to: directory.appendingPathComponent("merged.safetensors"))
    let worst = reports.map(\.worstErrorULPs).max()!   // ≤ 0.5: correctly rounded
    // readme:end
    #expect(warnings.isEmpty)
    #expect(ranks.count == 1 && ranks[0].0 == "layers.0.q_proj" && ranks[0].1 == 4 && ranks[0].2 == 1)
    #expect(worst <= 0.5)
    #expect(try SafetensorsFile(contentsOf: directory.appendingPathComponent("merged.safetensors")).tensorNames.count == 2)
}

@Test func combineAndResizeAdapters() throws {
    let directory = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: directory) }
    try writeCheckpoints(in: directory)
    try writeAdapter(in: directory)
    // readme:begin
    let adapter = try PEFTAdapter<Double>.read(from: directory.appendingPathComponent("adapter")).adapter
    let (sum, exact, _) = try AdapterCombination.combine([("a", adapter), ("b", adapter)], weights: [0.5, 0.25], method: .cat)
    let (small, kept) = try AdapterCombination.resize(sum, selection: .frobeniusShare(0.99))   // α scaled with r
    try small.write(to: directory.appendingPathComponent("small"), inputs: [directory.appendingPathComponent("adapter")])

    var dora = LoRAConfiguration(rank: 8, alpha: 16, targetModules: .names(["q_proj", "v_proj"]), initialization: .olora)
    dora.useDoRA = true   // injectLoRA then gives each LoRALinear a trained magnitude m
    // readme:end
    #expect(exact.allSatisfy { $0.rank == 8 && $0.absoluteError == 0 })
    #expect(kept.allSatisfy { $0.rank == 4 && $0.relativeError < 1e-6 })   // the sum has rank 4
    #expect(try PEFTAdapter<Double>.read(from: directory.appendingPathComponent("small")).adapter.configuration.rank == 4)
    #expect(dora.useDoRA && dora.initialization == .olora)
}

@Test func serveMergedOrUnmerged() {
    // readme:begin
    var rng = SeededGenerator(seed: 1)
    let (d, k, r, n) = (256, 256, 16, 32)
    let w = Matrix<Float>.randomNormal(rows: d, columns: k, using: &rng)
    let a = Matrix<Float>.randomNormal(rows: r, columns: k, standardDeviation: 0.01, using: &rng)
    let b = Matrix<Float>.randomNormal(rows: d, columns: r, standardDeviation: 0.01, using: &rng)
    let x = Matrix<Float>.randomNormal(rows: n, columns: k, using: &rng)

    var layer = LoRAWeights(base: w, a: a, b: b, scale: 2)   // s = α/r
    let unmerged = layer.forward(x)                           // X·Wᵀ + s·(X·Aᵀ)·Bᵀ
    layer.merge()                                             // W ← W + s·B·A
    let merged = layer.forward(x)                             // one GEMM

    let serving = StackedLoRAWeights(layer)                   // [W; A]: (d+r)×k
    var output = Matrix<Float>.zeros(n, d + r)
    serving.forward(x, into: &output)                         // Y in columns 0..<d
    // readme:end
    #expect(merged.maxAbsoluteDifference(unmerged) < 1e-4)
    #expect(output[columns: 0..<d].maxAbsoluteDifference(merged) < 1e-4)
}

@Test func serveNamedAdapters() throws {
    var rng = SeededGenerator(seed: 3)
    let model = TransformerStack<Float>(depth: 1, features: 32, heads: 4, using: &rng)
    func adapter() -> PEFTAdapter<Float> {
        let configuration = LoRAConfiguration(rank: 4, alpha: 8, targetModules: .names(["q_proj", "v_proj"]))
        return PEFTAdapter(configuration: configuration, modules: Dictionary(uniqueKeysWithValues: ["q_proj", "v_proj"].map { name in
            ("blocks.0.attn.\(name)", PEFTAdapter<Float>.Factors(
                a: .randomNormal(rows: 4, columns: 32, using: &rng), b: .randomNormal(rows: 32, columns: 4, using: &rng)))
        }))
    }
    let (french, legal) = (adapter(), adapter())
    let x = Matrix<Float>.randomNormal(rows: 3 * 16, columns: 32, using: &rng)
    // readme:begin
    try french.load(into: model, name: "french", file: "french/")   // PEFT's load_adapter; the first is active
    try legal.load(into: model, name: "legal", file: "legal/")
    try model.setActiveAdapter("legal")                              // set_adapter
    let legalOutput = model.forward(x, sequenceLength: 16)
    try model.setAdaptersEnabled(false)                              // disable_adapter: the base model
    let baseOutput = model.forward(x, sequenceLength: 16)
    try model.setAdaptersEnabled(true)
    // One batch, three sequences, three adapters (adapter_names): one base GEMM per layer.
    try model.setRowAdapters(AdapterRowAssignment(sequenceAdapters: ["french", "__base__", "legal"], sequenceLength: 16))
    let mixed = model.forward(x, sequenceLength: 16)
    try model.setRowAdapters(nil)
    try model.deleteAdapter("french")                               // delete_adapter
    // readme:end
    #expect(mixed[rows: 16..<32].maxAbsoluteDifference(baseOutput[rows: 16..<32]) < 1e-5)
    #expect(mixed[rows: 32..<48].maxAbsoluteDifference(legalOutput[rows: 32..<48]) < 1e-5)
    #expect(legalOutput.maxAbsoluteDifference(baseOutput) > 1e-3)
    #expect(model.loadedAdapterNames == ["legal"])
}

/// Every ```swift block of README.md is one marked region above, in the same order.
@Test func readmeSnippetsAreTheseTests() throws {
    let testFile = URL(fileURLWithPath: #filePath)
    let readme = testFile.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("README.md")
    let blocks = fencedSwiftBlocks(in: try String(contentsOf: readme, encoding: .utf8))
    let regions = markedRegions(in: try String(contentsOf: testFile, encoding: .utf8))
    #expect(!blocks.isEmpty)
    #expect(blocks.count == regions.count, "README has \(blocks.count) swift blocks, this file \(regions.count) regions")
    for (index, (block, region)) in zip(blocks, regions).enumerated() {
        #expect(block == region, "README swift block \(index + 1) differs from region \(index + 1) of \(testFile.lastPathComponent)")
    }
}

/// The contents of the blocks fenced by a line "```swift" and the next line "```".
func fencedSwiftBlocks(in markdown: String) -> [String] {
    var blocks: [String] = []
    var current: [Substring]?
    for line in markdown.split(separator: "\n", omittingEmptySubsequences: false) {
        if current == nil {
            if line == "```swift" { current = [] }
        } else if line == "```" {
            blocks.append(current!.joined(separator: "\n"))
            current = nil
        } else {
            current!.append(line)
        }
    }
    return blocks
}

/// The lines between the begin and end markers, each with its four-space indentation removed.
func markedRegions(in source: String) -> [String] {
    var regions: [String] = []
    var current: [Substring]?
    for line in source.split(separator: "\n", omittingEmptySubsequences: false) {
        let trimmed = line.drop { $0 == " " }
        if trimmed == "// readme:" + "begin" {
            current = []
        } else if trimmed == "// readme:" + "end", let lines = current {
            regions.append(lines.joined(separator: "\n"))
            current = nil
        } else if current != nil {
            current!.append(line.hasPrefix("    ") ? line.dropFirst(4) : line)
        }
    }
    return regions
}

/// A new empty directory under the system's temporary directory.
func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("lorakit-readme-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// `base.safetensors` and `tuned.safetensors`: one 64×48 weight that fine-tuning changed by a
/// rank-4 `ΔW`, and a norm vector it left alone.
func writeCheckpoints(in directory: URL) throws {
    var rng = SeededGenerator(seed: 7)
    let w = Matrix<Float>.randomNormal(rows: 64, columns: 48, using: &rng)
    let delta = Matrix<Float>.randomNormal(rows: 64, columns: 4, using: &rng)
        * Matrix<Float>.randomNormal(rows: 4, columns: 48, using: &rng) * 0.01
    let norm = Matrix<Float>(rows: 48, columns: 1, repeating: 1)
    var base = SafetensorsWriter(), tuned = SafetensorsWriter()
    base.add("layers.0.q_proj.weight", w, as: .float32)
    tuned.add("layers.0.q_proj.weight", w + delta, as: .float32)
    base.add("layers.0.norm.weight", norm, as: .float32, shape: [48])
    tuned.add("layers.0.norm.weight", norm, as: .float32, shape: [48])
    try base.write(to: directory.appendingPathComponent("base.safetensors"))
    try tuned.write(to: directory.appendingPathComponent("tuned.safetensors"))
}

/// `adapter/`: the rank-4 adapter extracted from the checkpoints of ``writeCheckpoints(in:)``.
func writeAdapter(in directory: URL) throws {
    let base = try SafetensorsFile(contentsOf: directory.appendingPathComponent("base.safetensors"))
    let tuned = try SafetensorsFile(contentsOf: directory.appendingPathComponent("tuned.safetensors"))
    try AdapterExtraction.extract(base: base, tuned: tuned, selection: .rank(4)).adapter
        .write(to: directory.appendingPathComponent("adapter"))
}
