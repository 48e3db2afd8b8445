import FileSafety
import Foundation

/// A rectangle of the drawing, in SVG user units (y grows downwards).
public struct Frame: Sendable, Equatable {
    public var x: Double
    public var y: Double
    public var width: Double
    public var height: Double

    public init(x: Double, y: Double, width: Double, height: Double) {
        self.x = x
        self.y = y
        self.width = width
        self.height = height
    }
}

/// Something that draws itself into a frame of an SVG document.
public protocol Chart: Sendable {
    /// SVG elements drawing the chart inside `frame`.
    func svgElements(in frame: Frame) -> String
}

extension Chart {
    /// A complete SVG document of `width×height` holding this chart.
    public func svg(width: Double = 720, height: Double = 440) -> String {
        SVG.document(width: width, height: height, body: svgElements(in: Frame(x: 0, y: 0, width: width, height: height)))
    }
}

/// SVG text helpers shared by the charts.
enum SVG {
    /// The colours of series, in order (colour-blind-safe palette).
    static let palette = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000"]

    static func document(width: Double, height: Double, body: String) -> String {
        """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(number(width))" height="\(number(height))" \
        viewBox="0 0 \(number(width)) \(number(height))" font-family="Helvetica, Arial, sans-serif" font-size="12">
        <rect width="100%" height="100%" fill="white"/>
        \(body)</svg>

        """
    }

    /// `value` with at most 2 decimals and no trailing zeros, as SVG coordinates.
    static func number(_ value: Double) -> String {
        let rounded = (value * 100).rounded() / 100
        return rounded == rounded.rounded() ? String(Int(rounded)) : String(rounded)
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    static func text(_ string: String, x: Double, y: Double, anchor: String = "middle", size: Double = 12,
                     weight: String = "normal", rotate: Bool = false) -> String {
        let transform = rotate ? " transform=\"rotate(-90 \(number(x)) \(number(y)))\"" : ""
        return "<text x=\"\(number(x))\" y=\"\(number(y))\" text-anchor=\"\(anchor)\" font-size=\"\(number(size))\" font-weight=\"\(weight)\"\(transform)>\(escape(string))</text>\n"
    }

    static func line(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, stroke: String = "#000", width: Double = 1) -> String {
        "<line x1=\"\(number(x1))\" y1=\"\(number(y1))\" x2=\"\(number(x2))\" y2=\"\(number(y2))\" stroke=\"\(stroke)\" stroke-width=\"\(number(width))\"/>\n"
    }

    static func rect(_ frame: Frame, fill: String, title: String? = nil) -> String {
        let tooltip = title.map { "<title>\(escape($0))</title>" } ?? ""
        return "<rect x=\"\(number(frame.x))\" y=\"\(number(frame.y))\" width=\"\(number(frame.width))\" height=\"\(number(frame.height))\" fill=\"\(fill)\">\(tooltip)</rect>\n"
    }

    /// A short label for a tick value: integers plainly, others in 3 significant digits.
    static func label(_ value: Double) -> String {
        if value == 0 { return "0" }
        if abs(value) >= 1e5 || abs(value) < 1e-3 { return String(format: "%.0e", value) }
        if value == value.rounded() { return String(Int(value)) }
        return String(format: "%.3g", value)
    }
}

/// An SVG file that could not be written, with the path and the system's reason.
public struct PlotWriteError: Error, Equatable, CustomStringConvertible {
    public var path: String
    public var reason: String
    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }
    public var description: String { "cannot write the plot \(path): \(reason)" }
}

/// Writes an SVG document atomically (temporary file, then rename), so a failure or an
/// interruption leaves no half file.
public func writeSVG(_ svg: String, to url: URL) throws(PlotWriteError) {
    do {
        try StagedFiles.write(Data(svg.utf8), to: url)
    } catch {
        throw PlotWriteError(path: url.path, reason: error.reason)
    }
}
