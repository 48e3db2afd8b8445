import CommandTestSupport
import Foundation
import Testing

/// `lora bench` as a process: list flags with commas or repeated, the JSON and CSV, and flags it refuses.
@Suite("lora bench")
struct BenchCommandTests {
    let tiny = ["bench", "--quick", "--rounds", "1", "--sizes", "16", "--tokens", "2", "--threads", "1"]

    @Test func listsTakeCommasOrRepeatedFlags() throws {
        let run = try runLora(tiny + ["--ranks", "2,4", "--ranks", "8", "--format", "json"])
        #expect(run.status == 0, "\(run.standardError)")
        let report = try #require(JSONSerialization.jsonObject(with: Data(run.standardOutput.utf8)) as? [String: Any])
        let cases = try #require(report["cases"] as? [[String: Any]])
        #expect(cases.compactMap { $0["rank"] as? Int } == [2, 4, 8])
        #expect(cases.allSatisfy { $0["stacked_ratio"] is Double && $0["ratio"] is Double })
        #expect(report["blas"] is String && report["blas_core"] is String && report["threads"] as? Int == 1)
    }

    @Test func csvHasOneRowPerCaseUnderTheJSONKeys() throws {
        let run = try runLora(tiny + ["--ranks", "2,4", "--format", "csv"])
        #expect(run.status == 0, "\(run.standardError)")
        let lines = run.standardOutput.split(separator: "\n")
        #expect(lines.count == 3 && lines[0].hasPrefix("d_out,d_in,tokens,rank,merged_ms,"))
        #expect(lines[1].hasPrefix("16,16,2,2,"))
    }

    @Test func adaptersTimeMixedBatches() throws {
        let run = try runLora(tiny + ["--ranks", "2", "--adapters", "1,2", "--format", "json"])
        #expect(run.status == 0, "\(run.standardError)")
        let report = try #require(JSONSerialization.jsonObject(with: Data(run.standardOutput.utf8)) as? [String: Any])
        let cases = try #require(report["cases"] as? [[String: Any]])
        #expect(cases.compactMap { $0["adapters"] as? Int } == [1, 2])
        #expect(cases.allSatisfy { $0["mixed_ratio"] is Double && $0["peft_loop_ratio"] is Double && $0["d"] as? Int == 16 })
    }

    @Test(arguments: [["--adapters", "3"], ["--adapters", "0"], ["--adapters", "1", "--plot", "ratio.svg"]])
    func refusesBadAdapterCounts(_ flags: [String]) throws {
        let run = try runLora(tiny + flags)
        #expect(run.status == 64)
        #expect(run.standardError.contains(flags.count > 2 ? "--plot" : "--adapters"), "\(run.standardError)")
    }

    @Test(arguments: [["--ranks", "0"], ["--ranks", "32"], ["--plot", "ratio.png"], ["--rounds", "0"], ["--tokens", "2,x"],
                      ["--sizes", ""], ["--format", "table"]])
    func refusesBadFlags(_ flags: [String]) throws {
        let run = try runLora(tiny + flags)
        #expect(run.status != 0)
        #expect(run.standardOutput.isEmpty)
        #expect(run.standardError.contains(flags[0]), "\(run.standardError)")
    }
}
