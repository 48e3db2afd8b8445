import ArgumentParser
import Foundation
import LoRAKit

/// `lora finetune --sweep-ranks` and `--sweep-targets`: one fine-tune per setting on the model
/// loaded once, each adapter in its own directory under `--out`, and a ``SweepReport``.
struct FineTuneSweep {
    /// The settings and the directory of each, before anything is loaded.
    let plan: [(name: String, rank: Int?, targets: TargetModules?)]
    let command: FineTune

    /// The sweep the flags ask for, or nil when they ask for none.
    init?(command: FineTune) {
        let ranks = command.sweepRanks.values()
        if !ranks.isEmpty {
            plan = ranks.map { ("r\($0)", $0, nil) }
        } else if !command.sweepTargets.isEmpty {
            plan = command.sweepTargets.map { list in
                let targets: TargetModules = list.values == ["all-linear"] ? .allLinear : .names(list.values)
                return ("targets-" + targets.flagText, nil, targets)
            }
        } else {
            return nil
        }
        self.command = command
    }

    /// The refusals that need no model: an empty name, a rank below 1, a setting given twice.
    static func validate(_ command: FineTune) throws {
        let ranks = command.sweepRanks.values()
        if !ranks.isEmpty && !command.sweepTargets.isEmpty {
            throw ValidationError("--sweep-ranks and --sweep-targets exclude each other: sweep one at a time")
        }
        if let rank = ranks.first(where: { $0 < 1 }) { throw ValidationError("--sweep-ranks: a rank must be at least 1, got \(rank)") }
        if command.sweepTargets.contains(where: { $0.values.contains("") }) { throw ValidationError("--sweep-targets has an empty name") }
        if command.equalBudget && command.sweepTargets.isEmpty { throw ValidationError("--equal-budget needs --sweep-targets") }
        guard let sweep = FineTuneSweep(command: command) else { return }
        if let twice = Dictionary(grouping: sweep.plan.map(\.name), by: { $0 }).first(where: { $0.value.count > 1 }) {
            throw ValidationError("the sweep lists \(twice.key) twice")
        }
        for (flag, given) in [("--resume", command.resume), ("--save-every", command.saveEvery != nil), ("--sample-prompt", command.sample.samplePrompt != nil)] where given {
            throw ValidationError("\(flag) does not apply to a sweep")
        }
    }

    /// The directory of each setting's adapter.
    func directory(_ name: String) -> URL { URL(fileURLWithPath: command.out).appendingPathComponent(name) }

    /// Every output checked, the model loaded once, every setting checked against it, then the
    /// settings trained in turn; prints the report and writes the figure.
    func run() throws {
        command.threads.apply()
        let adapterFiles = [PEFTAdapter<Double>.weightsFileName, PEFTAdapter<Double>.configurationFileName]
        try OutputSafety.check(
            outputs: [CommandPath(flag: "--out", path: command.out, files: plan.flatMap { setting in adapterFiles.map { setting.name + "/" + $0 } })]
                + command.plot.outputs,
            inputs: [CommandPath(flag: "--model", path: command.model)]
                + (command.data.values() + (command.eval.map { [$0] } ?? [])).map { CommandPath(flag: "--data", path: $0) })
        for setting in plan { try FineTuneJob.checkOutput(directory(setting.name), resume: false, force: command.force) }
        let inputs = try FineTuneInputs(command: command)
        let sweep = FineTuningSweep(
            model: inputs.language.model, trainingWindows: inputs.trainingWindows, evaluationWindows: inputs.evaluationWindows,
            options: inputs.options)
        let budget = try command.equalBudget
            ? inputs.language.model.loraParameterCount(inputs.adapterConfiguration(command, rank: command.lora.rank, targets: plan[0].targets)) : nil
        let settings = try plan.map { name, rank, targets in
            var lora = inputs.adapterConfiguration(command, rank: rank ?? command.lora.rank, targets: targets)
            if let budget { lora.rank = try sweep.rank(matchingBudget: budget, for: lora) }
            return FineTuningSweepSetting(name: name, lora: lora)
        }
        command.progress.report("Sweep of \(settings.count) settings, \(inputs.options.steps) steps each on \(inputs.trainingWindows.count) training sequences of \(command.context) tokens")
        let report = try sweep.run(settings, finished: { setting, model in
            let url = directory(setting.name)
            // OutputSafety checked that --out can be created: its parent exists.
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try inputs.writeAdapter(setting.lora, to: url)
            command.progress.report("\(setting.name): r=\(setting.lora.rank) on \(setting.lora.targetModules.flagText), \(model.trainableParameterCount.formatted()) trainable parameters, adapter in \(url.path)")
            return url.path
        }, progress: { setting, step in command.progress.report("\(setting.name)  " + FineTune.progressLine(step)) })
        try command.plot.write { report.figure() }
        print(try command.output.render(report))
    }
}
