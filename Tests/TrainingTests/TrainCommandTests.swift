import CommandTestSupport
import Foundation
import Testing

/// `lora train` as a process: its JSON for LoRA and full fine-tuning, one model against
/// data-parallel replicas, and flags it refuses.
@Suite("lora train")
struct TrainCommandTests {
    /// A few seconds' version of the default run: 16 sequences of 4 tokens, d=16, 2 heads.
    let small = ["train", "--samples", "16", "--sequence-length", "4", "--d-model", "16", "--heads", "2",
                 "--batch-size", "8", "--epochs", "4", "--lr", "0.01", "--format", "json"]

    func report(_ arguments: [String]) throws -> [String: Any] {
        let run = try runLora(small + arguments)
        #expect(run.status == 0, "\(run.standardError)")
        return try #require(JSONSerialization.jsonObject(with: Data(run.standardOutput.utf8)) as? [String: Any])
    }

    @Test func loraAndFullTrainingLowerTheLoss() throws {
        let lora = try report(["--rank", "4"])
        #expect(try #require(lora["final_loss"] as? Double) < #require(lora["initial_loss"] as? Double))
        #expect(lora["trainable_parameters"] as? Int == 4 * 4 * (16 + 16))  // q, k, v, o: r·(d_in + d_out)
        #expect(lora["replicas"] as? Int == 1)  // 8×4 tokens a batch: too few to split by default
        #expect((lora["losses"] as? [Double])?.count == 4 && (lora["norms"] as? [Any])?.count == 5)
        let full = try report(["--full"])
        #expect(try #require(full["final_loss"] as? Double) < #require(full["initial_loss"] as? Double))
        #expect(full["trainable_parameters"] as? Int == full["total_parameters"] as? Int)
    }

    /// Replicas are the same maths as one model, so the losses agree to Float rounding.
    @Test func replicasTrainAsOneModel() throws {
        let one = try report(["--replicas", "1"])
        let two = try report(["--replicas", "2", "--threads", "2"])
        #expect(one["replicas"] as? Int == 1 && two["replicas"] as? Int == 2)
        let (a, b) = (try #require(one["losses"] as? [Double]), try #require(two["losses"] as? [Double]))
        #expect(zip(a, b).allSatisfy { abs($0 - $1) <= 1e-4 * $0 }, "\(a) vs \(b)")
    }

    /// Text goes to standard output, progress to standard error; `--plot` writes one SVG of four panels.
    @Test func textReportAndPlot() throws {
        let directory = try makeTemporaryDirectory(prefix: "TrainCommandTests")
        defer { try? FileManager.default.removeItem(at: directory) }
        let plot = directory.appendingPathComponent("training.svg")
        let run = try runLora(small.dropLast(2) + ["--rank", "2", "--plot", plot.path])
        #expect(run.status == 0, "\(run.standardError)")
        #expect(run.standardOutput.hasPrefix("LoRA r=2 α=16.0 on 4 modules:") && run.standardOutput.contains("Merge: max"))
        #expect(run.standardError.contains("Epoch 4/4"))
        let svg = try String(contentsOf: plot, encoding: .utf8)
        #expect(svg.contains("Training loss") && svg.contains("Applied update ΔW"))
        let sweep = try runLora(small + ["--ranks", "1,2", "--ranks", "4", "--epochs", "1"])
        let runs = try #require((JSONSerialization.jsonObject(with: Data(sweep.standardOutput.utf8)) as? [String: Any])?["settings"] as? [[String: Any]])
        #expect(runs.map { $0["rank"] as? Int } == [1, 2, 4])
    }

    @Test(arguments: [["--replicas", "0"], ["--threads", "0"], ["--heads", "3"], ["--ranks", "4,x"], ["--full", "--ranks", "4"],
                      ["--plot", "/no/such/dir/a.svg"], ["--d-model", "15"]])
    func refusesBadFlags(_ flags: [String]) throws {
        let run = try runLora(small + flags)
        #expect(run.status != 0)
        #expect(run.standardOutput.isEmpty)
        #expect(run.standardError.contains(flags[flags.count - 2]), "\(run.standardError)")
    }
}
