import CommandTestSupport
import Foundation
import Testing

/// The grammar every `lora` subcommand shares: `--version`, enum values named in one-line errors,
/// lists given with commas or by repeating the flag, and one `--format` vocabulary.
@Suite("lora command grammar")
struct CommandGrammarTests {
    @Test func versionIsPrinted() throws {
        let run = try runLora(["--version"])
        #expect(run.status == 0)
        #expect(run.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ".").count == 3)
    }

    /// ArgumentParser's validation exit (64), and an error line naming the flag and every choice,
    /// followed directly by the help line of the flag.
    @Test(arguments: [
        (["params", "--format", "xml"], "--format", "'text', 'markdown', 'csv' or 'json'"),
        (["inspect", "x.safetensors", "--format", "csv"], "--format", "'text' and 'json'"),
        (["svd-table", "--precision", "double"], "--precision", "'f32' and 'f64'"),
        (["extract", "--base", "a", "--tuned", "b", "--rank", "1", "--out", "c", "--dtype", "F32"], "--dtype",
         "'f32', 'f64', 'f16' or 'bf16'"),
        (["train", "--schedule", "step"], "--schedule", "'constant', 'linear' or 'cosine'"),
        (["train", "--initialization", "olora"], "--initialization", "'kaiming', 'gaussian' or 'pissa'"),
        (["svd-table", "--method", "lanczos"], "--method", "'exact' and 'randomized'"),
        (["finetune", "--model", "m", "--data", "d", "--out", "o", "--steps", "1", "--base-precision", "q4_0"], "--base-precision",
         "'q4_0' is not one of f32, bf16, nf4, nf4-dq, q4_1, q8_0"),
        (["params", "--targets", "q,zz"], "--targets", "'zz' is not one of q, k, v, o, up, down, gate"),
        (["memory", "--dtype", "f32,f8"], "--dtype", "'f8' is not one of f32, f16, bf16, int8, int4"),
        (["params", "--model", "gpt2-small,gpt5"], "--model", "'gpt5' is not one of gpt2-small, gpt2-medium"),
    ])
    func badChoiceIsOneLine(_ arguments: [String], _ flag: String, _ choices: String) throws {
        let run = try runLora(arguments)
        #expect(run.status == 64, "\(arguments): \(run.status)")
        let lines = run.standardError.split(separator: "\n")
        #expect(lines.first?.contains(flag) == true && lines.first?.contains(choices) == true, "\(run.standardError)")
        #expect(lines.dropFirst().first?.hasPrefix("Help:") == true, "\(run.standardError)")
        #expect(run.standardOutput.isEmpty)
    }

    /// `--flag a,b --flag c` is `--flag a,b,c` in every command with a list.
    @Test(arguments: [
        (["svd-table", "--gaussian", "12x12", "--format", "json"], "--ranks", ["1,2", "3"]),
        (["params", "--format", "csv"], "--model", ["gpt2-small,llama-7b", "gpt3-175b"]),
        (["params", "--format", "csv"], "--targets", ["q,v", "up"]),
        (["memory", "--format", "csv"], "--billions", ["1,7", "13"]),
        (["memory", "--format", "csv"], "--dtype", ["f32", "bf16,int4"]),
    ])
    func repeatedListIsTheCommaList(_ base: [String], _ flag: String, _ parts: [String]) throws {
        let arguments = flag == "--targets" ? base + ["--d-model", "64", "--layers", "2", "--ffn", "128"] : base
        let repeated = try runLora(arguments + parts.flatMap { [flag, $0] })
        let comma = try runLora(arguments + [flag, parts.joined(separator: ",")])
        #expect(repeated.status == 0 && comma.status == 0, "\(repeated.standardError)\(comma.standardError)")
        #expect(repeated.standardOutput == comma.standardOutput)
        #expect(repeated.standardOutput.split(separator: "\n").count > 1)
    }

    @Test func tabularCommandsPrintEveryFormat() throws {
        for command in [["params"], ["memory"], ["svd-table", "--gaussian", "8x8", "--ranks", "2,4"]] {
            let text = try runLora(command + ["--format", "text"])
            let markdown = try runLora(command + ["--format", "markdown"])
            let csv = try runLora(command + ["--format", "csv"])
            let json = try runLora(command + ["--format", "json"])
            #expect([text, markdown, csv, json].allSatisfy { $0.status == 0 }, "\(command)")
            #expect(!text.standardOutput.contains("| ") && markdown.standardOutput.contains("| ---"), "\(command)")
            #expect(csv.standardOutput.split(separator: "\n").first?.contains(",") == true, "\(command)")
            #expect((try? JSONSerialization.jsonObject(with: Data(json.standardOutput.utf8))) is [String: Any], "\(command)")
        }
    }

    @Test func oldSpellingsAreGone() throws {
        for arguments in [["train", "--dim", "16"], ["svd-table", "--dtype", "float"], ["memory", "--precision", "f32"]] {
            let run = try runLora(arguments)
            #expect(run.status == 64 && run.standardError.contains("Unknown option '\(arguments[1])'"), "\(run.standardError)")
        }
    }
}
