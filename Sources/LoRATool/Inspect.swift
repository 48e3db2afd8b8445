import ArgumentParser
import Foundation
import LoRAKit

/// `lora inspect PATH`: what a tensor file or a PEFT adapter directory holds.
struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the tensors of a .safetensors or .npy file, or a PEFT adapter directory with its configuration and per-module rank and scaling.")

    @Argument(help: "A .safetensors file, a .npy file, or a PEFT adapter directory.")
    var path: String

    func run() throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw TensorFileError.fileError(file: path, reason: "no such file or directory")
        }
        let url = URL(fileURLWithPath: path)
        if isDirectory.boolValue {
            try inspectAdapter(url)
        } else if url.pathExtension == "npy" {
            let info = try NPY.info(url)
            print("\(path): .npy version \(info.version).0, \(info.dtype.rawValue), \(info.order == .c ? "C" : "Fortran") order, shape \(info.shape), data at byte \(info.dataOffset)")
        } else {
            printTensors(try SafetensorsFile(contentsOf: url))
        }
    }

    private func printTensors(_ file: SafetensorsFile) {
        let metadata = file.metadata.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", ")
        print("\(file.path): \(file.tensors.count) tensors, \(file.tensors.reduce(0) { $0 + $1.elementCount }) elements, \(file.tensors.reduce(0) { $0 + $1.byteCount }) bytes; metadata: \(metadata.isEmpty ? "none" : metadata)")
        let table = TextTable(
            header: ["tensor", "dtype", "shape", "bytes"],
            rows: file.tensors.map { [$0.name, $0.dtype.rawValue, $0.shapeDescription, grouped($0.byteCount)] })
        print(table.markdown(rightAligned: [3]))
    }

    private func inspectAdapter(_ directory: URL) throws {
        let (adapter, warnings) = try PEFTAdapter<Double>.read(from: directory)
        for warning in warnings { printWarning(warning) }
        let configuration = adapter.configuration
        let targets = switch configuration.targetModules {
        case let .names(names): names.joined(separator: ", ")
        case let .regex(pattern): "regex \(pattern)"
        case .allLinear: "all-linear"
        }
        print("\(directory.path): LoRA adapter, r = \(configuration.rank), lora_alpha = \(String(format: "%g", configuration.alpha)), rsLoRA \(configuration.useRSLoRA ? "on" : "off"), dropout \(configuration.dropout), targets: \(targets)")
        if let base = configuration.baseModelNameOrPath { print("base model: \(base)") }
        printTensors(try SafetensorsFile(contentsOf: directory.appendingPathComponent(PEFTAdapter<Double>.weightsFileName)))
        print("")
        let table = TextTable(
            header: ["module", "rank", "alpha", "scaling", "A", "B", "parameters"],
            rows: adapter.modulePaths.map { path in
                let factors = adapter.modules[path]!
                return [path, "\(factors.rank)", String(format: "%g", configuration.alpha(forModule: path)),
                        String(format: "%.4g", adapter.scaling(forModule: path)), factors.a.shapeDescription,
                        factors.b.shapeDescription, grouped(factors.a.count + factors.b.count)]
            })
        print(table.markdown(rightAligned: [1, 2, 3, 6]))
        print("total adapter parameters: \(adapter.parameterCount)")
    }
}

/// Writes `warning: message` to standard error.
func printWarning(_ message: String) {
    FileHandle.standardError.write(Data("warning: \(message)\n".utf8))
}
