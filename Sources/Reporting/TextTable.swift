import Foundation

/// A plain table of text cells, printed as aligned columns, a GitHub markdown table or CSV.
public struct TextTable: Sendable, Equatable {
    public var header: [String]
    public var rows: [[String]]

    public init(header: [String], rows: [[String]]) {
        self.header = header
        self.rows = rows
    }

    /// Columns separated by two spaces, each as wide as its widest cell; the `rightAligned` ones
    /// (numbers) padded on the left so their digits line up.
    public func aligned(rightAligned: Set<Int> = []) -> String {
        let lines = [header] + rows
        let widths = header.indices.map { column in lines.map { $0[column].count }.max() ?? 0 }
        return lines.map { line in
            line.indices.map { column in
                let padding = String(repeating: " ", count: widths[column] - line[column].count)
                return rightAligned.contains(column) ? padding + line[column] : line[column] + padding
            }.joined(separator: "  ").replacingOccurrences(of: " +$", with: "", options: .regularExpression)
        }.joined(separator: "\n")
    }

    /// `| a | b |` lines with a `| --- | --- |` rule; numeric columns are right-aligned (`---:`).
    public func markdown(rightAligned: Set<Int> = []) -> String {
        let rule = header.indices.map { rightAligned.contains($0) ? "---:" : "---" }
        return ([header, rule] + rows).map { "| " + $0.joined(separator: " | ") + " |" }.joined(separator: "\n")
    }

    /// RFC 4180 CSV: a field with a comma, a quote or a newline is quoted, its quotes doubled.
    public func csv() -> String {
        ([header] + rows).map { $0.map(Self.csvField).joined(separator: ",") }.joined(separator: "\n")
    }

    private static func csvField(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
