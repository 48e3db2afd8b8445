/// One named line of a ``LineChart``.
public struct Series: Sendable, Equatable {
    public var name: String
    public var points: [Point]
    /// Draw a marker at every point.
    public var showsMarkers: Bool
    /// Draw the line dashed (e.g. a theoretical curve next to measurements).
    public var isDashed: Bool

    /// A data point.
    public struct Point: Sendable, Equatable {
        public var x: Double
        public var y: Double
        public init(x: Double, y: Double) {
            self.x = x
            self.y = y
        }
    }

    public init(name: String, points: [Point], showsMarkers: Bool = true, isDashed: Bool = false) {
        self.name = name
        self.points = points
        self.showsMarkers = showsMarkers
        self.isDashed = isDashed
    }

    /// A series from parallel arrays of x and y values.
    public init(name: String, x: [Double], y: [Double], showsMarkers: Bool = true, isDashed: Bool = false) {
        precondition(x.count == y.count, "Series \(name): \(x.count) x values, \(y.count) y values")
        self.init(name: name, points: zip(x, y).map { Point(x: $0, y: $1) }, showsMarkers: showsMarkers, isDashed: isDashed)
    }

    /// A series of `y` against its index `0, 1, 2, …`.
    public init(name: String, y: [Double], showsMarkers: Bool = false) {
        self.init(name: name, x: y.indices.map(Double.init), y: y, showsMarkers: showsMarkers)
    }
}

/// Lines of `y` against `x` for one or more series, with linear or logarithmic axes.
public struct LineChart: Chart {
    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var series: [Series]
    public var xScale: AxisScale
    public var yScale: AxisScale

    public init(title: String, xLabel: String, yLabel: String, series: [Series],
                xScale: AxisScale = .linear, yScale: AxisScale = .linear) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.series = series
        self.xScale = xScale
        self.yScale = yScale
    }

    public func svgElements(in frame: Frame) -> String {
        let points = series.flatMap(\.points).filter { drawable($0) }
        let area = PlotArea(
            frame: frame,
            x: Axis(covering: points.map(\.x), scale: xScale),
            y: Axis(covering: points.map(\.y), scale: yScale),
            legendWidth: series.count > 1 ? legendWidth : 0)
        var out = area.axes(title: title, xLabel: xLabel, yLabel: yLabel)
        for (i, line) in series.enumerated() {
            let colour = SVG.palette[i % SVG.palette.count]
            let mapped = line.points.filter(drawable).map { area.point($0.x, $0.y) }
            let path = mapped.map { "\(SVG.number($0.x)),\(SVG.number($0.y))" }.joined(separator: " ")
            let dash = line.isDashed ? " stroke-dasharray=\"6 4\"" : ""
            out += "<polyline points=\"\(path)\" fill=\"none\" stroke=\"\(colour)\" stroke-width=\"2\"\(dash)/>\n"
            if line.showsMarkers {
                for p in mapped {
                    out += "<circle cx=\"\(SVG.number(p.x))\" cy=\"\(SVG.number(p.y))\" r=\"3\" fill=\"\(colour)\"/>\n"
                }
            }
        }
        if series.count > 1 { out += area.legend(series.map(\.name)) }
        return out
    }

    private var legendWidth: Double { Double(series.map(\.name.count).max() ?? 0) * 6.5 + 36 }

    private func drawable(_ p: Series.Point) -> Bool {
        p.x.isFinite && p.y.isFinite && (xScale == .linear || p.x > 0) && (yScale == .linear || p.y > 0)
    }
}
