import Plotting

extension LoRABenchmarkReport {
    /// Unmerged/merged ratio against rank, one panel per layer shape `d×k`, two lines per token
    /// count `n` (the three-GEMM and the stacked forward), and the ideal ratio
    /// `1 + r·(d + k)/(d·k)` dashed.
    public func ratioFigure() -> Figure {
        var layerShapes: [[Int]] = []
        for result in cases where !layerShapes.contains([result.outFeatures, result.inFeatures]) {
            layerShapes.append([result.outFeatures, result.inFeatures])
        }
        let panels = layerShapes.map { shape in
            let layer = cases.filter { [$0.outFeatures, $0.inFeatures] == shape }
            var tokenCounts: [Int] = []
            for result in layer where !tokenCounts.contains(result.tokens) { tokenCounts.append(result.tokens) }
            let measured = tokenCounts.map { n in
                let line = layer.filter { $0.tokens == n }.sorted { $0.rank < $1.rank }
                return [
                    Series(name: "n = \(n)", x: line.map { Double($0.rank) }, y: line.map(\.ratio)),
                    Series(name: "n = \(n), stacked", x: line.map { Double($0.rank) }, y: line.map(\.stackedRatio)),
                ]
            }.joined()
            let ideal = Dictionary(layer.map { ($0.rank, $0.idealRatio) }, uniquingKeysWith: { first, _ in first })
                .sorted { $0.key < $1.key }
            let idealSeries = Series(
                name: "ideal 1 + r(d+k)/(dk)", x: ideal.map { Double($0.key) }, y: ideal.map(\.value),
                showsMarkers: false, isDashed: true)
            return LineChart(
                title: "d×k = \(shape[0])×\(shape[1]), \(threads) thread\(threads == 1 ? "" : "s")",
                xLabel: "rank r", yLabel: "unmerged / merged time",
                series: Array(measured) + [idealSeries], xScale: .logarithmic) as any Chart
        }
        return Figure(panels: panels, columns: min(2, max(1, panels.count)))
    }
}
