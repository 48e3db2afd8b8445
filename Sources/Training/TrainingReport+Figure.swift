import Plotting

extension TrainingReport {
    /// The loss curve and, with a tracked adapter, its norm curves, the update norm and a heatmap
    /// of the applied update `ΔW = s·B·A` (at most its first 128×128 entries), one panel each.
    public func figure() -> Figure {
        let epochs = (1...history.losses.count).map(Double.init)
        var panels: [any Chart] = [
            LineChart(title: lora == nil ? "Training loss (full fine-tuning)" : "Training loss (LoRA only)",
                      xLabel: "Epoch", yLabel: "Loss", series: [Series(name: "loss", x: epochs, y: history.losses)]),
        ]
        if let (update, scale) = appliedUpdate {
            let steps = history.norms.map { Double($0.step) }
            panels.append(LineChart(title: "LoRA matrix norms (first q_proj)", xLabel: "Step", yLabel: "Frobenius norm", series: [
                Series(name: "‖A‖", x: steps, y: history.norms.map(\.a)),
                Series(name: "‖B‖", x: steps, y: history.norms.map(\.b)),
            ]))
            panels.append(LineChart(title: "Update norm ‖B·A‖ (applied: s·‖B·A‖)", xLabel: "Step", yLabel: "‖BA‖",
                                    series: [Series(name: "‖BA‖", x: steps, y: history.norms.map(\.delta))]))
            let shown = min(128, update.rows, update.columns)
            let values = (0..<shown).map { i in (0..<shown).map { Double(update[i, $0]) } }
            let title = "Applied update ΔW = s·B·A, s = \(scale)"
            panels.append(Heatmap(title: shown < update.rows || shown < update.columns
                                    ? "\(title) (first \(shown)×\(shown) of \(update.shapeDescription))" : title,
                                  values: values))
        }
        return Figure(panels: panels, columns: min(2, panels.count))
    }
}

extension SweepReport {
    /// Bar charts against rank (a rank sweep) or setting: trainable parameters, final loss, and
    /// the held-out perplexity before and after when every setting has it, else loss per 1K
    /// parameters.
    public func figure() -> Figure {
        let rankOnly = variesRankOnly
        let categories = runs.map { rankOnly ? String($0.rank) : "\($0.targets) r\($0.rank)" }
        let axis = rankOnly ? "LoRA rank" : "Setting"
        let third: any Chart = if runs.allSatisfy({ $0.initialEvaluationPerplexity != nil && $0.finalEvaluationPerplexity != nil }) {
            BarChart(title: "Held-out perplexity vs \(axis.lowercased())", xLabel: axis, yLabel: "Perplexity", categories: categories,
                     series: [("before", runs.map { $0.initialEvaluationPerplexity! }), ("after", runs.map { $0.finalEvaluationPerplexity! })])
        } else {
            BarChart(title: "Efficiency (lower = better)", xLabel: axis, yLabel: "Loss per 1K params",
                     categories: categories, series: [("loss per 1K", runs.map(\.lossPerThousandParameters))])
        }
        return Figure(panels: [
            BarChart(title: "Parameters vs \(axis.lowercased())", xLabel: axis, yLabel: "Trainable parameters",
                     categories: categories, series: [("parameters", runs.map { Double($0.trainableParameters) })]),
            BarChart(title: "Performance vs \(axis.lowercased())", xLabel: axis, yLabel: "Final loss",
                     categories: categories, series: [("final loss", runs.map(\.finalLoss))]),
            third,
        ], columns: 3)
    }
}
