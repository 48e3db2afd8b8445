import Foundation
import LoRAKit

extension Merge {
    /// `lora merge --model M`: the language model with the adapter merged, written for deployment
    /// as a Hugging Face directory or a GGUF file (``ModelMerge``), with the certificate per weight.
    func mergeModel() throws {
        let modelURL = try ModelLocation.resolve(model!)
        let isDirectory = (try? modelURL.resourceValues(forKeys: [.isDirectoryKey]).isDirectory) == true
        let modelFiles = isDirectory ? [ModelMerge.weightsFileName, ModelMerge.configFileName].map { modelURL.appendingPathComponent($0).path } : [modelURL.path]
        let writtenFiles = writesGGUF ? nil : [ModelMerge.weightsFileName, ModelMerge.configFileName]
        try OutputSafety.check(
            outputs: [CommandPath(flag: "--out", path: out, files: writtenFiles)],
            inputs: modelFiles.map { CommandPath(flag: "--model", path: $0) } + adapterFiles)
        let existing = writtenFiles.map { $0.map { URL(fileURLWithPath: out).appendingPathComponent($0).path } } ?? [out]
        if !force, let file = existing.first(where: { FileManager.default.fileExists(atPath: $0) }) {
            throw CommandFailure(description: (file == out ? "--out \(out) exists" : "--out \(out) already holds \(file)") + ": --force replaces it")
        }
        let format: MergedModelFormat = switch (writesGGUF, dtype ?? .f32) {
        case (true, .f16): .gguf(.f16)
        case (true, _): .gguf(.f32)
        case (false, let choice): .huggingFace(choice.tensorDType)
        }
        let source: GGUFFile?, base: LlamaForCausalLM<Float>
        if isDirectory {
            guard !writesGGUF else {
                throw CommandFailure(description: "--out \(out): a GGUF output copies the metadata and tokenizer of a GGUF --model; \(model!) is a Hugging Face directory")
            }
            let weights = try SafetensorsFile(contentsOf: modelURL.appendingPathComponent(ModelMerge.weightsFileName))
            try requireMemory(elements: weights.tensors.map { Double($0.elementCount) }, format: format)
            (source, base) = (nil, try LlamaForCausalLM<Float>(huggingFaceDirectory: modelURL))
        } else {
            let file = try GGUFFile(contentsOf: modelURL)
            try requireMemory(elements: file.tensors.map { Double($0.elementCount) }, format: format)
            (source, base) = (file, try LlamaForCausalLM<Float>(gguf: file))
        }
        let (peft, warnings) = try PEFTAdapter<Double>.read(from: URL(fileURLWithPath: adapter))
        let (files, reports): (ModelMerge.Files, [MergedWeightReport])
        do {
            (files, reports) = try ModelMerge.merge(model: base, adapter: peft, scale: scale, format: format, source: source)
        } catch {
            guard case .mergeOverflow = error else { throw error }
            throw CommandFailure(description: "\(error): use a smaller --scale or a wider --dtype")
        }
        try files.write(to: writesGGUF ? OutputSafety.destination(out) : URL(fileURLWithPath: out))
        warnings.forEach(printWarning)
        let tensors = source?.tensors.count ?? base.huggingFaceWeights.count
        print(try output.render(MergeSummary(out: out, weights: reports, copied: tensors - reports.count, othersRounded: true)))
    }

    /// Fails unless the model in Float, the rounded copies, the output and the Double temporaries
    /// of the largest weight fit in memory.
    private func requireMemory(elements: [Double], format: MergedModelFormat) throws {
        let total = elements.reduce(0, +), largest = elements.max() ?? 0
        let outputBytes: Double = switch format {
        case let .huggingFace(dtype): Double(dtype.byteCount)
        case let .gguf(type): type == .f16 ? 2 : 4
        }
        try MemoryBudget.require(
            (8 + outputBytes) * total + 32 * largest, for: "merging \(model!)", advice: "merge on a machine with more memory")
    }
}
