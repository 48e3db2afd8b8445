import CommandTestSupport
import Foundation
import LinearAlgebra
import Testing
import Training
import TrainingTestSupport

/// Fine-tuning over processes: `MPITrainingCheck` runs the tests' tiny fine-tuning alone and as
/// the ranks of one `mpirun`.
@Suite(
    "Fine-tuning over MPI ranks: the same adapter as one process",
    .enabled(if: mpirun != nil, "mpirun is not installed: scripts/setup installs openmpi-bin"),
    .serialized)
struct MPITrainingTests {
    /// One BLAS thread a rank: the ranks share the cores.
    static let environment = ["OPENBLAS_NUM_THREADS": "1"]

    /// Runs the check alone (`ranks` nil) or under `mpirun -np ranks`.
    func check(ranks: Int?, _ arguments: [String], environment: [String: String] = [:]) throws -> CommandRun {
        let program = builtExecutable("MPITrainingCheck")
        let environment = ProcessInfo.processInfo.environment.merging(Self.environment.merging(environment) { $1 }) { $1 }
        guard let ranks else { return try runProgram(program, arguments, environment: environment) }
        return try runUnderMPI(ranks: ranks, program, arguments, environment: environment)
    }

    /// The final state a successful check wrote to `directory`.
    func finalState(_ run: CommandRun, in directory: URL) throws -> FineTuningCheckpoint<Float> {
        #expect(run.status == 0, "\(run.standardError)")
        return try FineTuningCheckpoint<Float>.read(from: directory)
    }

    /// `‖a − b‖_∞ / ‖a‖_∞`.
    func relativeDifference(_ a: Matrix<Float>, _ b: Matrix<Float>) -> Float {
        a.maxAbsoluteDifference(b) / max(a.elements.map(abs).max() ?? 0, .leastNormalMagnitude)
    }

    /// 7 steps of 2 micro-batches of 3 sequences: 2 ranks take 1 and 2 sequences of each, 4 ranks
    /// 0 or 1 (a rank with nothing to do still sums its zeros). The adapter, the losses and the
    /// perplexities match the single process's within 1e-5 (Float sums in another order), and
    /// every rank ends with rank 0's weights bit for bit (the check's checksum).
    @Test(arguments: [2, 4]) func ranksTrainTheSameAdapterAsOneProcess(ranks: Int) throws {
        let directory = try makeTemporaryDirectory(prefix: "lorakit-mpi")
        defer { try? FileManager.default.removeItem(at: directory) }
        let (alone, spread) = (directory.appendingPathComponent("alone"), directory.appendingPathComponent("spread"))
        let one = try finalState(try check(ranks: nil, ["--output", alone.path]), in: alone)
        let run = try check(ranks: ranks, ["--output", spread.path])
        #expect(run.standardOutput.contains("rank 0 of \(ranks): steps 0 to 7"), "\(run.standardOutput)")
        let many = try finalState(run, in: spread)
        #expect(many.step == 7 && many.optimizer.stepCount == 7)
        #expect(Set(many.parameters.keys) == Set(one.parameters.keys) && !one.parameters.isEmpty)
        for (path, value) in one.parameters {
            let difference = relativeDifference(value, many.parameters[path]!)
            #expect(difference <= 1e-5, "\(path): \(difference)")
        }
        for (a, b) in zip(one.losses, many.losses) { #expect(abs(a - b) <= 1e-5 * abs(a)) }
        #expect(one.evaluations.keys.sorted() == many.evaluations.keys.sorted())
        for (step, perplexity) in one.evaluations { #expect(abs(perplexity - many.evaluations[step]!) <= 1e-5 * perplexity) }
    }

    /// A 2-rank run resumed from the checkpoint its rank 0 saved at step 6 (read by rank 0 alone,
    /// sent to rank 1) ends as the uninterrupted run did, bit for bit.
    @Test func aResumedRunOverRanksEqualsAnUninterruptedOne() throws {
        let directory = try makeTemporaryDirectory(prefix: "lorakit-mpi-resume")
        defer { try? FileManager.default.removeItem(at: directory) }
        let (whole, checkpoint, resumed) = (
            directory.appendingPathComponent("whole"), directory.appendingPathComponent("checkpoint"),
            directory.appendingPathComponent("resumed")
        )
        let uninterrupted = try finalState(try check(ranks: 2, ["--output", whole.path, "--checkpoint", checkpoint.path]), in: whole)
        #expect(try FineTuningCheckpoint<Float>.read(from: checkpoint).step == 6)
        let run = try check(ranks: 2, ["--output", resumed.path, "--resume", checkpoint.path])
        #expect(run.standardOutput.contains("rank 0 of 2: steps 6 to 7"), "\(run.standardOutput)")
        let final = try finalState(run, in: resumed)
        #expect(final.parameters == uninterrupted.parameters)
        #expect(final.optimizer == uninterrupted.optimizer)
        #expect(final.losses == uninterrupted.losses)
        #expect(final.evaluations == uninterrupted.evaluations)
    }

    /// Rank 1 failing before the first step, while rank 0 waits for it in a collective: the run
    /// ends with a non-zero status, one line naming the rank, and rank 0 never finishes.
    @Test func aFailingRankEndsEveryRank() throws {
        let directory = try makeTemporaryDirectory(prefix: "lorakit-mpi-fail")
        defer { try? FileManager.default.removeItem(at: directory) }
        let output = directory.appendingPathComponent("never")
        let run = try check(ranks: 2, ["--output", output.path], environment: ["MPI_TRAINING_CHECK_FAIL_RANK": "1"])
        #expect(run.status != 0)
        let lines = run.standardError.split(separator: "\n").filter { $0.hasPrefix("rank ") }
        #expect(lines == ["rank 1: failing as MPI_TRAINING_CHECK_FAIL_RANK=1 asks"], "\(run.standardError)")
        #expect(!run.standardOutput.contains("rank 0 of 2"))
        #expect(!FileManager.default.fileExists(atPath: output.path))
    }
}
