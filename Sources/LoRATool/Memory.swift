import ArgumentParser
import LoRAKit

/// `lora memory`: the memory of full fine-tuning versus LoRA.
struct Memory: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "GB of weights, adapters, gradients and Adam states: full fine-tuning versus LoRA.")

    @Option(help: ArgumentList.help("Model sizes in billions of parameters", default: Memory.defaultBillions),
            transform: ArgumentList.parse)
    var billions = [ArgumentList(Memory.defaultBillions)]
    static let defaultBillions: [Double] = [1, 7, 13, 70]

    @Option(help: "LoRA rank r.")
    var rank = 16

    @Option(help: "Fraction of the weights that get LoRA adapters, in (0, 1].")
    var fraction = 0.1

    @Option(help: ArgumentList.help("Dtypes of the weights", default: [WeightPrecision.float32]), transform: ArgumentList.parse)
    var dtype = [ArgumentList([WeightPrecision.float32])]

    @Option(name: .customLong("trainable-dtype"),
            help: "Dtype of adapters, their gradients and Adam states (default: the weights' dtype).")
    var trainableDType: WeightPrecision?

    @Option(name: .customLong("d-model"), help: "Width d of the square adapted matrices.")
    var dModel = 4096

    @OptionGroup var output: TableFormatOption<MarkdownByDefault>

    func run() throws {
        var rows: [MemoryEstimate] = []
        for size in billions.values() {
            for weights in dtype.values() {
                let assumptions = MemoryAssumptions(
                    precision: weights, trainablePrecision: trainableDType, adaptedMatrixDimension: dModel)
                rows.append(try MemoryEstimate(billions: size, rank: rank, adaptedFraction: fraction, assumptions: assumptions))
            }
        }
        print(try output.render(MemoryTableReport(rows: rows)))
    }
}
