import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
@testable import Plotting
import Testing

/// Counts elements by name while checking the document parses as XML.
final class ElementCounter: NSObject, XMLParserDelegate {
    var counts: [String: Int] = [:]
    var texts: [String] = []
    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?,
                qualifiedName: String?, attributes: [String: String] = [:]) {
        counts[name, default: 0] += 1
    }
    func parser(_ parser: XMLParser, foundCharacters string: String) { texts.append(string) }
}

func parse(_ svg: String) -> ElementCounter? {
    let counter = ElementCounter()
    let parser = XMLParser(data: Data(svg.utf8))
    parser.delegate = counter
    return parser.parse() ? counter : nil
}

@Suite("SVG charts")
struct PlottingTests {
    @Test func lineChartIsWellFormedWithOneLinePerSeriesAndALegend() throws {
        let chart = LineChart(
            title: "Error <vs> rank & energy", xLabel: "rank", yLabel: "error",
            series: [Series(name: "measured", x: [1, 2, 4], y: [0.9, 0.5, 0.1]),
                     Series(name: "theory", x: [1, 2, 4], y: [0.95, 0.55, 0.12], isDashed: true)])
        let parsed = try #require(parse(chart.svg()))
        #expect(parsed.counts["polyline"] == 2)
        #expect(parsed.counts["circle"] == 6)
        #expect(parsed.texts.joined().contains("Error <vs> rank & energy"), "titles are escaped, then read back intact")
        #expect(parsed.texts.contains("theory"))
    }

    @Test func logarithmicAxisSkipsNonPositiveValuesAndTicksPowersOfTen() throws {
        let chart = LineChart(title: "spectrum", xLabel: "i", yLabel: "σ",
                              series: [Series(name: "σ", x: [1, 2, 3, 4], y: [100, 1, 0, 0.01])], yScale: .logarithmic)
        let parsed = try #require(parse(chart.svg()))
        #expect(parsed.counts["circle"] == 3)
        let axis = Axis(covering: [100, 1, 0.01], scale: .logarithmic)
        #expect(axis.low == 0.01 && axis.high == 100)
        #expect(axis.ticks == [0.01, 0.1, 1, 10, 100])
        #expect(abs(axis.fraction(1) - 0.5) < 1e-12)
    }

    @Test func linearAxisHasRoundBoundsAndTicks() {
        let axis = Axis(covering: [0.13, 0.87], scale: .linear)
        #expect(axis.low == 0 && axis.high == 1)
        #expect(axis.ticks.count == 6 && axis.ticks.last == 1)
        #expect(Axis.niceStep(0.3) == 0.5 && Axis.niceStep(7) == 10 && Axis.niceStep(0.011) == 0.02)
        let close = Axis(covering: [1.8643, 1.8647], scale: .linear)
        let labels = close.tickLabels.map(\.label)
        #expect(Set(labels).count == labels.count, "close ticks print differently: \(labels)")
        #expect(Axis(covering: [0, 150_000], scale: .linear).tickLabels.last?.label == "150000")
        let flat = Axis(covering: [3, 3], scale: .linear)
        #expect(flat.low < 3 && flat.high > 3)
    }

    @Test func barChartDrawsOneBarPerValue() throws {
        let chart = BarChart(title: "loss per 1K parameters", xLabel: "rank", yLabel: "loss",
                             categories: ["4", "8", "16"], series: [("final loss", [0.3, 0.2, 0.1]), ("params", [1, 2, 4])])
        let parsed = try #require(parse(chart.svg()))
        // background + 6 bars + 2 legend swatches + plot frame
        #expect(parsed.counts["rect"] == 1 + 6 + 2 + 1)
    }

    @Test func heatmapColoursAreDivergingAroundZero() throws {
        #expect(Heatmap.colour(0) == "#ffffff")
        #expect(Heatmap.colour(1) == "#ff0000")
        #expect(Heatmap.colour(-1) == "#0000ff")
        #expect(Heatmap.colour(.nan) == "#ffffff")
        let map = Heatmap(title: "ΔW", values: [[1, -1], [0, 0.5]])
        let parsed = try #require(parse(map.svg()))
        #expect(parsed.counts["rect"] == 1 + 4 + 20)
    }

    @Test func figurePlacesPanelsSideBySideAndWritesAtomically() throws {
        let panel = LineChart(title: "a", xLabel: "x", yLabel: "y", series: [Series(name: "s", y: [1, 2, 3])])
        let figure = Figure(panels: [panel, panel])
        let svg = figure.svg()
        #expect(svg.contains("width=\"1120\""))
        #expect(parse(svg)?.counts["polyline"] == 2)
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("lorakit-\(UUID().uuidString).svg")
        try writeSVG(svg, to: url)
        #expect(try String(contentsOf: url, encoding: .utf8) == svg)
        #expect(throws: (any Error).self) { try writeSVG(svg, to: URL(fileURLWithPath: "/nonexistent-dir/x.svg")) }
    }
}
