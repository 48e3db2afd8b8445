import Plotting

extension FineTuningReport {
    /// The training loss per step and the held-out perplexity at each evaluation, one panel each.
    public func figure() -> Figure {
        var panels: [any Chart] = [
            LineChart(title: "Training loss", xLabel: "Step", yLabel: "Mean NLL",
                      series: [Series(name: "loss", x: (1...max(1, losses.count)).map(Double.init), y: losses)]),
        ]
        let evaluated = evaluations.sorted { $0.key < $1.key }
        if !evaluated.isEmpty {
            panels.append(LineChart(title: "Held-out perplexity", xLabel: "Step", yLabel: "Perplexity",
                                    series: [Series(name: "perplexity", x: evaluated.map { Double($0.key) }, y: evaluated.map(\.value))]))
        }
        return Figure(panels: panels, columns: panels.count)
    }
}
