/// Several charts side by side (a grid of panels) in one SVG document.
public struct Figure: Sendable {
    public var panels: [any Chart]
    /// Panels per row.
    public var columns: Int
    public var panelWidth: Double
    public var panelHeight: Double

    public init(panels: [any Chart], columns: Int? = nil, panelWidth: Double = 560, panelHeight: Double = 400) {
        self.panels = panels
        self.columns = max(1, columns ?? panels.count)
        self.panelWidth = panelWidth
        self.panelHeight = panelHeight
    }

    public func svg() -> String {
        let rows = (panels.count + columns - 1) / columns
        let body = panels.enumerated().map { index, panel in
            panel.svgElements(in: Frame(x: Double(index % columns) * panelWidth, y: Double(index / columns) * panelHeight,
                                        width: panelWidth, height: panelHeight))
        }.joined()
        return SVG.document(width: Double(columns) * panelWidth, height: Double(max(1, rows)) * panelHeight, body: body)
    }
}
