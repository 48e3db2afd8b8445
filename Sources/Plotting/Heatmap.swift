import Foundation

/// A matrix drawn as coloured cells: blue for negative, white for zero, red for positive,
/// scaled by the largest magnitude (a diverging map suited to weight updates such as ΔW).
public struct Heatmap: Chart {
    public var title: String
    /// The values by row; every row has the same length.
    public var values: [[Double]]

    public init(title: String, values: [[Double]]) {
        let width = values.first?.count ?? 0
        precondition(values.allSatisfy { $0.count == width }, "Heatmap \(title): rows of different lengths")
        self.title = title
        self.values = values
    }

    public func svgElements(in frame: Frame) -> String {
        var out = SVG.text(title, x: frame.x + frame.width / 2, y: frame.y + 20, size: 14, weight: "bold")
        let rows = values.count
        let columns = values.first?.count ?? 0
        guard rows > 0 && columns > 0 else { return out }
        let limit = values.flatMap { $0 }.filter(\.isFinite).map(abs).max() ?? 0
        let side = min((frame.width - 110) / Double(columns), (frame.height - 50) / Double(rows))
        let left = frame.x + 20
        let top = frame.y + 34
        for (i, row) in values.enumerated() {
            for (j, value) in row.enumerated() {
                let cell = Frame(x: left + Double(j) * side, y: top + Double(i) * side, width: side, height: side)
                out += SVG.rect(cell, fill: Heatmap.colour(limit > 0 ? value / limit : 0))
            }
        }
        // Colour bar with its bounds.
        let barLeft = left + Double(columns) * side + 16
        let barHeight = Double(rows) * side
        for step in 0..<20 {
            let t = 1 - 2 * Double(step) / 19
            out += SVG.rect(Frame(x: barLeft, y: top + Double(step) * barHeight / 20, width: 14, height: barHeight / 20 + 0.5),
                            fill: Heatmap.colour(t))
        }
        out += SVG.text(SVG.label(limit), x: barLeft + 18, y: top + 10, anchor: "start", size: 11)
        out += SVG.text(SVG.label(-limit), x: barLeft + 18, y: top + barHeight, anchor: "start", size: 11)
        return out
    }

    /// Blue (−1) → white (0) → red (+1).
    static func colour(_ t: Double) -> String {
        let clamped = max(-1, min(1, t.isFinite ? t : 0))
        let fade = Int((255 * (1 - abs(clamped))).rounded())
        return clamped >= 0
            ? String(format: "#%02x%02x%02x", 255, fade, fade)
            : String(format: "#%02x%02x%02x", fade, fade, 255)
    }
}
