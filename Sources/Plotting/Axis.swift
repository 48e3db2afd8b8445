import Foundation

/// How data values map onto an axis.
public enum AxisScale: Sendable, Equatable {
    case linear
    /// Base-10 logarithmic; only positive values are drawn.
    case logarithmic
}

/// One axis: a data range mapped linearly (or logarithmically) onto a pixel range, with ticks.
struct Axis {
    let scale: AxisScale
    let low: Double
    let high: Double

    /// An axis covering `values`, widened to "nice" bounds (and never empty).
    init(covering values: [Double], scale: AxisScale, includeZero: Bool = false) {
        self.scale = scale
        let usable = values.filter { $0.isFinite && (scale == .linear || $0 > 0) }
        var low = usable.min() ?? (scale == .linear ? 0 : 1)
        var high = usable.max() ?? (scale == .linear ? 1 : 10)
        switch scale {
        case .linear:
            if includeZero { low = min(low, 0); high = max(high, 0) }
            if low == high { low -= 1; high += 1 }
            let step = Axis.niceStep((high - low) / 5)
            low = (low / step).rounded(.down) * step
            high = (high / step).rounded(.up) * step
        case .logarithmic:
            low = pow(10, log10(low).rounded(.down))
            high = pow(10, log10(high).rounded(.up))
            if low == high { high *= 10 }
        }
        self.low = low
        self.high = high
    }

    /// The position of `value` as a fraction of the axis, 0 at `low`, 1 at `high`.
    func fraction(_ value: Double) -> Double {
        switch scale {
        case .linear: (value - low) / (high - low)
        case .logarithmic: (log10(value) - log10(low)) / (log10(high) - log10(low))
        }
    }

    /// Tick values: about five round numbers, or the powers of ten.
    var ticks: [Double] {
        switch scale {
        case .linear:
            let step = Axis.niceStep((high - low) / 5)
            return stride(from: low, through: high + step / 1e6, by: step).map { ($0 / step).rounded() * step }
        case .logarithmic:
            let decades = Int(log10(low).rounded())...Int(log10(high).rounded())
            let every = max(1, decades.count / 6)
            return decades.filter { ($0 - decades.lowerBound) % every == 0 }.map { pow(10, Double($0)) }
        }
    }

    /// The tick labels: on a linear axis with as many decimals as the tick step needs (so close
    /// ticks never print alike), on a logarithmic one as powers of ten.
    var tickLabels: [(value: Double, label: String)] {
        switch scale {
        case .linear:
            let step = Axis.niceStep((high - low) / 5)
            let decimals = max(0, Int(-log10(step).rounded(.down)))
            return ticks.map { ($0, String(format: "%.\(decimals)f", $0 == 0 ? 0 : $0)) }
        case .logarithmic:
            return ticks.map { ($0, SVG.label($0)) }
        }
    }

    /// 1, 2 or 5 times a power of ten, at least `rough`.
    static func niceStep(_ rough: Double) -> Double {
        guard rough > 0 && rough.isFinite else { return 1 }
        let power = pow(10, log10(rough).rounded(.down))
        let mantissa = rough / power
        return (mantissa <= 1 ? 1 : mantissa <= 2 ? 2 : mantissa <= 5 ? 5 : 10) * power
    }
}

/// Draws the frame, ticks, grid and labels of an x–y plot and maps data into it.
struct PlotArea {
    let plot: Frame
    let x: Axis
    let y: Axis

    /// The plot area inside `frame`, leaving margins for the title and axis labels.
    init(frame: Frame, x: Axis, y: Axis, legendWidth: Double = 0) {
        plot = Frame(x: frame.x + 64, y: frame.y + 34, width: max(10, frame.width - 84 - legendWidth),
                     height: max(10, frame.height - 82))
        self.x = x
        self.y = y
    }

    func point(_ px: Double, _ py: Double) -> (x: Double, y: Double) {
        (plot.x + x.fraction(px) * plot.width, plot.y + (1 - y.fraction(py)) * plot.height)
    }

    func axes(title: String, xLabel: String, yLabel: String, xTicks: Bool = true) -> String {
        var out = SVG.text(title, x: plot.x + plot.width / 2, y: plot.y - 14, size: 14, weight: "bold")
        for (tick, label) in y.tickLabels {
            let py = point(x.low, tick).y
            out += SVG.line(plot.x, py, plot.x + plot.width, py, stroke: "#e5e5e5")
            out += SVG.text(label, x: plot.x - 6, y: py + 4, anchor: "end", size: 11)
        }
        if xTicks {
            for (tick, label) in x.tickLabels {
                let px = point(tick, y.low).x
                out += SVG.line(px, plot.y + plot.height, px, plot.y + plot.height + 4)
                out += SVG.text(label, x: px, y: plot.y + plot.height + 17, size: 11)
            }
        }
        out += "<rect x=\"\(SVG.number(plot.x))\" y=\"\(SVG.number(plot.y))\" width=\"\(SVG.number(plot.width))\" height=\"\(SVG.number(plot.height))\" fill=\"none\" stroke=\"#000\"/>\n"
        out += SVG.text(xLabel, x: plot.x + plot.width / 2, y: plot.y + plot.height + 36)
        out += SVG.text(yLabel, x: plot.x - 48, y: plot.y + plot.height / 2, rotate: true)
        return out
    }

    /// A legend of coloured swatches to the right of the plot.
    func legend(_ names: [String]) -> String {
        var out = ""
        for (i, name) in names.enumerated() {
            let top = plot.y + 6 + Double(i) * 18
            out += SVG.rect(Frame(x: plot.x + plot.width + 10, y: top, width: 12, height: 12),
                            fill: SVG.palette[i % SVG.palette.count])
            out += SVG.text(name, x: plot.x + plot.width + 27, y: top + 10, anchor: "start", size: 11)
        }
        return out
    }
}
