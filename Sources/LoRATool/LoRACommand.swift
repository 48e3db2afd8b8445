import ArgumentParser

/// The `lora` command: LoRA adapters and low-rank analysis from the shell.
@main
struct LoRACommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lora",
        abstract: "LoRA adapters, low-rank analysis and language models on OpenBLAS and LAPACKE.",
        version: "0.4.0",
        subcommands: [
            Demo.self, SVDTable.self, Params.self, Memory.self, Inspect.self, Merge.self, Extract.self,
            Combine.self, Resize.self, Train.self, FineTune.self, Bench.self, Generate.self, Perplexity.self, Tokenize.self,
            BLASCommand.self,
        ]
    )

    static func main() { main(BLASCoreFix.prepare()) }  // restarts with the recommended BLAS core if due (BLASCoreFix.swift)
}
