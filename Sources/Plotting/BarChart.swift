/// Bars for categories, one bar per series in each category (grouped).
public struct BarChart: Chart {
    public var title: String
    public var xLabel: String
    public var yLabel: String
    /// The category labels along x.
    public var categories: [String]
    /// Named series, each with one value per category.
    public var series: [(name: String, values: [Double])]
    public var yScale: AxisScale

    public init(title: String, xLabel: String, yLabel: String, categories: [String],
                series: [(name: String, values: [Double])], yScale: AxisScale = .linear) {
        for s in series {
            precondition(s.values.count == categories.count,
                         "BarChart \(title): series \(s.name) has \(s.values.count) values for \(categories.count) categories")
        }
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.categories = categories
        self.series = series
        self.yScale = yScale
    }

    public func svgElements(in frame: Frame) -> String {
        let values = series.flatMap(\.values)
        let yAxis = Axis(covering: values, scale: yScale, includeZero: yScale == .linear)
        let xAxis = Axis(covering: [0, Double(max(1, categories.count))], scale: .linear)
        let legendWidth = series.count > 1 ? Double(series.map(\.name.count).max() ?? 0) * 6.5 + 36 : 0
        let area = PlotArea(frame: frame, x: xAxis, y: yAxis, legendWidth: legendWidth)
        var out = area.axes(title: title, xLabel: xLabel, yLabel: yLabel, xTicks: false)
        let slot = area.plot.width / Double(max(1, categories.count))
        let barWidth = slot * 0.8 / Double(max(1, series.count))
        let base = yScale == .linear ? area.point(0, max(yAxis.low, 0)).y : area.plot.y + area.plot.height
        for (c, category) in categories.enumerated() {
            let left = area.plot.x + Double(c) * slot + slot * 0.1
            for (s, line) in series.enumerated() {
                let value = line.values[c]
                guard value.isFinite, yScale == .linear || value > 0 else { continue }
                let top = area.point(0, value).y
                let bar = Frame(x: left + Double(s) * barWidth, y: min(top, base), width: barWidth * 0.92, height: abs(base - top))
                out += SVG.rect(bar, fill: SVG.palette[s % SVG.palette.count], title: "\(category) \(line.name): \(value)")
            }
            out += SVG.text(category, x: area.plot.x + (Double(c) + 0.5) * slot, y: area.plot.y + area.plot.height + 17, size: 11)
        }
        if series.count > 1 { out += area.legend(series.map(\.name)) }
        return out
    }
}
