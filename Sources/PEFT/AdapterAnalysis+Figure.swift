import Plotting

extension AdapterAnalysis {
    /// Per layer, one series per projection (`q_proj`, `v_proj`, …): the energy of `ΔW` in its top
    /// direction, and with the base `φ(r, r)` and the amplification, one panel each.
    public func figure() -> Figure {
        func panel(_ title: String, _ yLabel: String, _ value: (AdapterModuleAnalysis) -> Double?) -> LineChart {
            var byProjection: [String: [(x: Double, y: Double)]] = [:]
            for (index, module) in modules.enumerated() {
                guard let y = value(module) else { continue }
                let parts = module.module.split(separator: ".")
                let layer = zip(parts, parts.dropFirst()).first { $0.0 == "layers" }.flatMap { Double($0.1) } ?? Double(index)
                byProjection[String(parts.last ?? ""), default: []].append((layer, y))
            }
            let series = byProjection.keys.sorted().map { name in
                Series(name: name, x: byProjection[name]!.map(\.x), y: byProjection[name]!.map(\.y))
            }
            return LineChart(title: title, xLabel: "Layer", yLabel: yLabel, series: series)
        }
        var panels: [any Chart] = [panel("Energy of ΔW in its top direction", "σ₁² / Σσᵢ²") { $0.rankErrors.rows.first?.retainedEnergy }]
        if model != nil {
            panels.append(panel("Subspace similarity of ΔW and W", "φ(r, r)", \.topSimilarity))
            panels.append(panel("Amplification ‖ΔW‖ / ‖UᵀWV‖", "factor", \.amplification))
        }
        return Figure(panels: panels, columns: panels.count)
    }
}
