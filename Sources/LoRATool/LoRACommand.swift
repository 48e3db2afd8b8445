import ArgumentParser

/// The `lora` command: LoRA adapters and low-rank analysis from the shell.
@main
struct LoRACommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lora",
        abstract: "LoRA adapters and low-rank analysis on OpenBLAS and LAPACKE.",
        subcommands: [Demo.self, Inspect.self, Merge.self, Extract.self, SVDTable.self, Params.self, Memory.self]
    )
}
