import Plotting

extension RankErrorReport {
    /// Two panels: the singular-value spectrum, and the relative error (%) at each rank (with
    /// the quarter-circle theory beside it when the table has it).
    public func figure() -> Figure {
        let spectrum = LineChart(
            title: "Singular values: \(source)", xLabel: "Index i", yLabel: "σᵢ",
            series: [Series(name: "σᵢ", x: table.singularValues.indices.map { Double($0 + 1) }, y: table.singularValues,
                            showsMarkers: false)])
        var bars: [(name: String, values: [Double])] = [("Measured", table.rows.map { 100 * $0.relativeError })]
        if table.rows.allSatisfy({ $0.theoryError != nil }) {
            bars.append(("Quarter-circle theory", table.rows.map { 100 * ($0.theoryError ?? 0) }))
        }
        let errors = BarChart(
            title: "Error vs rank (lower = better)", xLabel: "Rank", yLabel: "Reconstruction error (%)",
            categories: table.rows.map { "\($0.rank)" }, series: bars)
        return Figure(panels: [spectrum, errors])
    }
}
