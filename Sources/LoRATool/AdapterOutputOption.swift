import ArgumentParser
import Foundation
import LoRAKit

/// `--out DIR --dtype …` of a command that writes a new adapter from existing ones.
struct AdapterOutputOption: ParsableArguments {
    @Option(help: "The adapter directory to write (never one of the inputs).")
    var out: String
    @Option(help: "The dtype of A and B.")
    var dtype: TensorDTypeChoice = .f32

    /// Throws, before any work, unless ``out`` can be written and none of the files it would
    /// replace is one of the adapter directories `inputs` (given as `--adapter`) or in them.
    func check(inputs: [String]) throws {
        let names = [PEFTAdapter<Double>.weightsFileName, PEFTAdapter<Double>.configurationFileName]
        try OutputSafety.check(
            outputs: [CommandPath(flag: "--out", path: out, files: names)],
            inputs: inputs.flatMap { input in
                [CommandPath(flag: "--adapter", path: input)]
                    + names.map { CommandPath(flag: "--adapter", path: URL(fileURLWithPath: input).appendingPathComponent($0).path) }
            })
    }

    /// Writes `adapter` into ``out`` atomically, refusing an ``out`` that resolves to one of `inputs`.
    func write(_ adapter: PEFTAdapter<Double>, inputs: [URL]) throws {
        try adapter.write(to: URL(fileURLWithPath: out), dtype: dtype.tensorDType, inputs: inputs)
    }
}
