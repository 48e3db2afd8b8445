// Fine-tunes the tests' tiny model (`FineTuning.tiny`, no dropout) as one rank of an `mpirun`
// run, or alone, so the tests can compare the two.
//
//   MPITrainingCheck --output DIR [--checkpoint DIR] [--resume DIR]
//       Rank 0 writes the final state (a checkpoint directory) to --output; with --checkpoint it
//       saves every 3 steps there, with --resume it continues from that checkpoint (which only
//       rank 0 reads). Before writing, every rank checks that its weights equal rank 0's, bit for
//       bit, by a broadcast checksum.
//   MPITrainingCheck --time-all-reduce COUNT
//       Times the in-place Float all-reduce of COUNT elements (rank 0 prints the figures).
//
// With MPI_TRAINING_CHECK_FAIL_RANK=R in the environment, rank R fails before the first step.
// A rank that fails prints one line, `rank R: reason`, and ends every rank with status 1.
import Dispatch
import Foundation
import LinearAlgebra
import Training
import TrainingTestSupport

/// What the check found wrong; one line.
struct CheckFailure: Error, CustomStringConvertible {
    var description: String
}

/// The value following `flag` in the arguments, if the flag is there.
func argument(_ flag: String) -> String? {
    let arguments = CommandLine.arguments
    return arguments.firstIndex(of: flag).flatMap { $0 + 1 < arguments.count ? arguments[$0 + 1] : nil }
}

/// FNV-1a over the bit patterns of every trainable parameter, in path order: equal checksums mean
/// equal weights, bit for bit.
func checksum(of model: TinyCausalModel<Float>) -> [UInt8] {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for (_, parameter) in model.trainableParameters().sorted(by: { $0.path < $1.path }) {
        for element in parameter.value.elements {
            hash = (hash ^ UInt64(element.bitPattern)) &* 0x100_0000_01b3
        }
    }
    return withUnsafeBytes(of: hash) { Array($0) }
}

func train(reduction: (any GradientReduction)?) throws {
    guard let output = argument("--output").map(URL.init(fileURLWithPath:)) else {
        throw CheckFailure(description: "--output DIR is required")
    }
    let run = try FineTuning<TinyCausalModel<Float>>.tiny(dropout: 0, reduction: reduction)
    let rank = reduction?.rank ?? 0
    if let failing = ProcessInfo.processInfo.environment["MPI_TRAINING_CHECK_FAIL_RANK"], Int(failing) == rank {
        throw CheckFailure(description: "failing as MPI_TRAINING_CHECK_FAIL_RANK=\(failing) asks")
    }
    var resumed: FineTuningCheckpoint<Float>?
    if run.isPrimaryRank, let resume = argument("--resume") {
        resumed = try FineTuningCheckpoint<Float>.read(from: URL(fileURLWithPath: resume))
        try run.validate(resumed!)
    }
    let checkpointURL = argument("--checkpoint").map(URL.init(fileURLWithPath:))
    let final = try run.run(
        resumingFrom: resumed, evaluateEvery: 3, saveEvery: checkpointURL == nil ? nil : 3,
        save: { checkpoint in try checkpointURL.map { try checkpoint.write(to: $0) } })
    if let reduction {
        let mine = checksum(of: run.trainer.model)
        guard try reduction.broadcast(bytes: mine, from: 0) == mine else {
            throw CheckFailure(description: "the weights differ from rank 0's after \(final.step) steps")
        }
    }
    guard run.isPrimaryRank else { return }
    try final.write(to: output)
    print("rank 0 of \(reduction?.size ?? 1): steps \(resumed?.step ?? 0) to \(final.step), loss \(final.losses.last!), "
        + "perplexity \(final.evaluations[final.step]!)")
}

/// Milliseconds of `repeats` in-place all-reduces of `count` Floats (after warm-up ones).
func timeAllReduce(count: Int, reduction: any GradientReduction, repeats: Int = 20) throws {
    var values = [Float](repeating: 1, count: count)
    var milliseconds: [Double] = []
    for iteration in 0..<(repeats + 3) {
        let start = DispatchTime.now().uptimeNanoseconds
        try values.withUnsafeMutableBufferPointer { buffer in try reduction.allReduceSum(buffer) }
        if iteration >= 3 { milliseconds.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6) }
    }
    guard reduction.rank == 0 else { return }
    milliseconds.sort()
    let median = milliseconds[repeats / 2]
    print("all-reduce of \(count) Floats (\(count * 4) bytes) over \(reduction.size) ranks: median \(median) ms, "
        + "min \(milliseconds[0]) ms, max \(milliseconds.last!) ms over \(repeats); \(Double(count * 4) / median / 1e6) GB/s")
}

var reduction: (any GradientReduction)?
do {
    reduction = try ProcessGroup.launchedByMPI()
    if let count = argument("--time-all-reduce") {
        guard let count = Int(count), let reduction else { throw CheckFailure(description: "--time-all-reduce COUNT runs under mpirun") }
        try timeAllReduce(count: count, reduction: reduction)
    } else {
        try train(reduction: reduction)
    }
} catch {
    FileHandle.standardError.write(Data("rank \(reduction?.rank ?? 0): \(error)\n".utf8))
    if let reduction { reduction.abort(exitCode: 1) }
    exit(1)
}
