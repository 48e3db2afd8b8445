import ArgumentParser
import Foundation
import LoRAKit

/// `--out DIR --dtype …` of a command that writes a new adapter from existing ones.
struct AdapterOutputOption: ParsableArguments {
    @Option(help: "The adapter directory to write (never one of the inputs).")
    var out: String
    @Option(help: "The dtype of A and B.")
    var dtype: TensorDTypeChoice = .f32

    /// Writes `adapter` into ``out`` atomically, refusing an ``out`` that resolves to one of `inputs`.
    func write(_ adapter: PEFTAdapter<Double>, inputs: [URL]) throws {
        try adapter.write(to: URL(fileURLWithPath: out), dtype: dtype.tensorDType, inputs: inputs)
    }
}
