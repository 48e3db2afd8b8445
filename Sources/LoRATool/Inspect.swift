import ArgumentParser
import Foundation
import LoRAKit

/// `lora inspect PATH`: what a tensor file or a PEFT adapter directory holds.
struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the tensors of a .safetensors, .npy or .gguf file (with a GGUF's metadata), or a PEFT adapter directory with its configuration and per-module rank and scaling.")

    @Argument(help: "A .safetensors file, a .npy file, a .gguf file, or a PEFT adapter directory.")
    var path: String

    @OptionGroup var output: FormatOption

    func run() throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw TensorFileError.fileError(file: path, reason: "no such file or directory")
        }
        let url = URL(fileURLWithPath: path)
        if isDirectory.boolValue {
            let (adapter, warnings) = try PEFTAdapter<Double>.read(from: url)
            warnings.forEach(printWarning)
            let weights = try SafetensorsFile(contentsOf: url.appendingPathComponent(PEFTAdapter<Double>.weightsFileName))
            print(try output.render(AdapterSummary(directory: url, adapter: adapter, weights: SafetensorsSummary(weights))))
        } else if url.pathExtension == "gguf" {
            print(try output.render(GGUFSummary(try GGUFFile(contentsOf: url))))
        } else if url.pathExtension == "npy" {
            print(try output.render(NPYSummary(path: path, info: try NPY.info(url))))
        } else {
            print(try output.render(SafetensorsSummary(try SafetensorsFile(contentsOf: url))))
        }
    }
}
