import ArgumentParser
import Foundation
import LoRAKit

/// `lora finetune`: LoRA fine-tuning of a language model on text files, writing a PEFT adapter.
struct FineTune: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "finetune",
        abstract: "Fine-tune LoRA adapters of a language model on text files and write a PEFT adapter directory.",
        discussion: """
            Each --data file is tokenized (no BOS) and cut into windows of --context tokens; batches are \
            shuffled by --seed. The held-out --eval text is scored by the perplexity protocol before, every \
            --eval-every steps and after. A checkpoint in OUT/checkpoint every --save-every steps lets \
            --resume continue a killed run exactly; the adapter is written only when the run ends. Progress \
            goes to standard error, one line per step.

            Under mpirun -np N, the N processes train one run: each takes its share of every batch and \
            the gradients are summed, so a step is the one a single process takes. Rank 0 reads the \
            checkpoint, prints and writes; a rank that fails ends them all, naming itself.
            """)

    @Option(help: "A .gguf file, a Hugging Face model directory, or a short name in the LoRAKit cache (smollm2).")
    var model: String
    @Option(help: ArgumentList<String>.help("UTF-8 text files to train on"), transform: ArgumentList.parse)
    var data: [ArgumentList<String>]
    @Option(help: "A held-out UTF-8 text file for perplexity.") var eval: String?
    @Option(help: "The adapter directory to write.") var out: String
    @OptionGroup var lora: LoRAOptions
    @Option(help: "The frozen base's weights: f32, bf16 (rounded), nf4 or nf4-dq (projections quantized as read: QLoRA), q4_1 or q8_0 (projections in the GGUF file's own blocks); default f32.", transform: BasePrecision.parse)
    var basePrecision: BasePrecision = .f32
    @Option(help: "AdamW learning rate.") var lr = 1e-3
    @Option(help: "AdamW decoupled weight decay.") var weightDecay = 0.0
    @Option(help: "Optimizer steps (or give --epochs).") var steps: Int?
    @Option(help: "Passes over the data, when --steps is not given.") var epochs: Int?
    @Option(help: "Sequences per micro-batch.") var batchSize = 4
    @Option(help: "Tokens per training sequence and evaluation window.") var context = 256
    @Option(help: "Micro-batches per optimizer step (gradient accumulation).") var accumulate = 1
    @Option(help: "Linear warm-up steps.") var warmupSteps = 0
    @Option(help: "Learning-rate decay after warm-up.") var schedule: LearningRateSchedule.Decay = .constant
    @Option(help: "Clip gradients to this global norm.") var clipNorm: Double?
    @Option(help: "Seed for the adapters, the shuffles and dropout.") var seed: UInt64 = 0
    @Option(help: "Evaluate every N steps (besides before and after).") var evalEvery: Int?
    @Option(help: "Write a checkpoint every N steps.") var saveEvery: Int?
    @Option(help: ArgumentList<Int>.help("Fine-tune once per rank (α stays --alpha), each adapter in OUT/r<rank>"), transform: ArgumentList.parse)
    var sweepRanks: [ArgumentList<Int>] = []
    @Option(help: "Fine-tune once per target list, one list per occurrence (q_proj,v_proj or all-linear), each adapter in OUT/targets-<list>.",
            transform: ArgumentList.parse)
    var sweepTargets: [ArgumentList<String>] = []
    @Flag(help: "With --sweep-targets: each setting's rank gives the trainable parameters Σ r·(d_in + d_out) closest to the first setting's at --rank.")
    var equalBudget = false
    @Flag(help: "Continue from OUT/checkpoint.") var resume = false
    @Flag(help: "Replace an existing adapter in OUT.") var force = false
    @Option(help: "Data-parallel model replicas, one BLAS thread each (default: one per BLAS thread, at most one per 256 tokens of a batch; 1: one model on all BLAS threads).")
    var replicas: Int?
    @OptionGroup var threads: ThreadsOption
    @OptionGroup var output: FormatOption
    @OptionGroup var plot: PlotOption
    @OptionGroup var sample: SampleOption
    @OptionGroup var progress: ProgressOption

    func validate() throws {
        for (name, value) in [("--batch-size", batchSize), ("--accumulate", accumulate), ("--replicas", replicas ?? 1)] where value < 1 {
            throw ValidationError("\(name) must be at least 1, got \(value)")
        }
        if context < 2 { throw ValidationError("--context must be at least 2, got \(context)") }
        if (steps == nil) == (epochs == nil) { throw ValidationError("give one of --steps and --epochs") }
        // The run's token count must be countable: it sizes the progress, the ETA and the report.
        let tokens = [steps ?? 1, epochs ?? 1, accumulate, batchSize, context].reduce(Double(1)) { $0 * Double($1) }
        if !(tokens < 0x1p62) {
            throw ValidationError("--steps or --epochs × --accumulate × --batch-size × --context asks for more tokens than can be counted")
        }
        if let bad = [("--steps", steps), ("--epochs", epochs), ("--eval-every", evalEvery), ("--save-every", saveEvery)]
            .first(where: { ($0.1 ?? 1) < 1 }) {
            throw ValidationError("\(bad.0) must be at least 1, got \(bad.1!)")
        }
        if !(lr > 0 && lr.isFinite) { throw ValidationError("--lr must be positive and finite, got \(lr)") }
        if !(weightDecay >= 0) { throw ValidationError("--weight-decay must be ≥ 0, got \(weightDecay)") }
        if warmupSteps < 0 { throw ValidationError("--warmup-steps must be ≥ 0, got \(warmupSteps)") }
        if let clipNorm, !(clipNorm > 0) { throw ValidationError("--clip-norm must be positive, got \(clipNorm)") }
        if data.values().isEmpty { throw ValidationError("give at least one --data file") }
        if resume && force { throw ValidationError("--resume and --force exclude each other") }
        try FineTuneSweep.validate(self)
    }

    func run() throws {
        let processes = try ProcessGroup.launchedByMPI()
        if let sweep = FineTuneSweep(command: self) {
            guard processes == nil else { throw CommandFailure(description: "a sweep runs in one process: start it without mpirun") }
            return try sweep.run()
        }
        do {
            try train(processes: processes)
        } catch {
            guard let processes else { throw error }
            // The other ranks may be waiting for this one in a collective: end them all.
            printRankFailure(rank: processes.rank, error)
            processes.abort(exitCode: 1)
        }
    }

    /// The run, as the only process or as one rank of `processes`.
    private func train(processes: (any GradientReduction)?) throws {
        threads.apply()
        try OutputSafety.check(
            outputs: [CommandPath(flag: "--out", path: out, files: [PEFTAdapter<Double>.weightsFileName, PEFTAdapter<Double>.configurationFileName])]
                + plot.outputs,
            inputs: [CommandPath(flag: "--model", path: model)] + (data.values() + (eval.map { [$0] } ?? [])).map { CommandPath(flag: "--data", path: $0) })
        let outURL = URL(fileURLWithPath: out)
        let job = try FineTuneJob(command: self, outURL: outURL, processes: processes)
        let run = job.run
        let checkpointURL = outURL.appendingPathComponent("checkpoint")
        var resumed: FineTuningCheckpoint<Float>?
        if resume && run.isPrimaryRank {
            let checkpoint = try FineTuningCheckpoint<Float>.read(from: checkpointURL)
            try run.validate(checkpoint)
            progress.report("resuming at step \(checkpoint.step) of \(run.options.steps)")
            resumed = checkpoint
        }
        let sampleBefore = run.isPrimaryRank ? try sample.sample(job.language) : nil
        if let sampleBefore { progress.report("sample before: \(sampleBefore.debugDescription)") }
        let final = try run.run(
            resumingFrom: resumed, evaluateEvery: evalEvery, saveEvery: saveEvery,
            save: { try $0.write(to: checkpointURL) },
            progress: { progress.report(Self.progressLine($0)) })
        guard run.isPrimaryRank else { return }
        try job.writeAdapter(to: outURL)
        try? FileManager.default.removeItem(at: checkpointURL)
        let sampleAfter = try sample.sample(job.language)
        if let sampleAfter { progress.report("sample after: \(sampleAfter.debugDescription)") }
        let report = FineTuningReport(
            model: model, trainableParameters: job.language.model.trainableParameterCount,
            totalParameters: job.language.model.parameterCount, adaptedModules: job.adapted, steps: final.step,
            tokens: final.step * run.options.accumulate * run.options.batchSize * run.options.context,
            tokensPerSecond: run.trainingTokensPerSecond,
            evaluations: final.evaluations, losses: final.losses, peakRSSBytes: peakResidentBytes(),
            base: (basePrecision.rawValue, job.inputs.baseWeightBytes), adapter: outURL.path,
            sample: sampleBefore.flatMap { before in sampleAfter.map { FineTuningReport.Sample(prompt: sample.samplePrompt!, before: before, after: $0) } })
        try plot.write { report.figure() }
        print(try output.render(report))
    }

    /// `step 12/100  loss 3.4521  612 tokens/s  ETA 1m23s  held-out perplexity 45.21`.
    static func progressLine(_ progress: FineTuningProgress) -> String {
        let eta = Int(progress.remainingSeconds.rounded())
        var line = String(format: "step %ld/%ld  loss %.4f  %.0f tokens/s  ETA %ldm%02lds", progress.step, progress.steps,
                          progress.loss, progress.tokensPerSecond, eta / 60, eta % 60)
        if let perplexity = progress.evaluationPerplexity { line += String(format: "  held-out perplexity %.3f", perplexity) }
        return line
    }
}
