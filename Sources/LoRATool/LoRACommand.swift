import ArgumentParser
import LoRAKit

/// The `lora` command: LoRA adapters and low-rank analysis from the shell.
@main
struct LoRACommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lora",
        abstract: "LoRA adapters, low-rank analysis and language models on OpenBLAS and LAPACKE.",
        discussion: """
            Exit status: 0 success; 1 a problem with an input file, the memory a request needs, a \
            result that is not finite, or the system; 64 a wrong command line (ArgumentParser's \
            usage follows the error); 130, 143 or 129 interrupted by SIGINT, SIGTERM or SIGHUP \
            (files being written are removed, finished ones stay).
            """,
        version: "0.4.0",
        subcommands: [
            Demo.self, SVDTable.self, Params.self, Memory.self, Inspect.self, Merge.self, Extract.self,
            Combine.self, Resize.self, AnalyzeAdapter.self, Train.self, FineTune.self, Bench.self, Generate.self, Perplexity.self, Tokenize.self,
            BLASCommand.self,
        ]
    )

    /// ArgumentParser's `main`, after restarting with the recommended BLAS core if due
    /// (BLASCoreFix.swift) and telling the allocator to keep freed blocks (``FreedMemoryReuse``),
    /// with the temporaries of interrupted writes removed and errors made plain before they are printed.
    static func main() {
        let arguments = BLASCoreFix.prepare()
        FreedMemoryReuse.keepFreedBlocks()
        TemporaryFiles.removeOnInterrupt()
        let command: ParsableCommand
        do {
            command = try parseAsRoot(arguments)
        } catch {
            exit(withError: error)
        }
        do {
            var command = command
            try command.run()
        } catch {
            exit(withError: plainError(error))
        }
    }
}
