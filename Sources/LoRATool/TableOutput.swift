import ArgumentParser
import Foundation

/// How a command prints a table.
enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case markdown, csv, json
}

/// A plain table of text cells, printed as a GitHub markdown table or as CSV (RFC 4180 quoting).
struct TextTable {
    var header: [String]
    var rows: [[String]]

    /// `| a | b |` lines with a `| --- | --- |` rule; numeric columns are right-aligned (`---:`).
    func markdown(rightAligned: Set<Int> = []) -> String {
        let rule = header.indices.map { rightAligned.contains($0) ? "---:" : "---" }
        return ([header, rule] + rows).map { "| " + $0.joined(separator: " | ") + " |" }.joined(separator: "\n")
    }

    func csv() -> String {
        ([header] + rows).map { $0.map(Self.csvField).joined(separator: ",") }.joined(separator: "\n")
    }

    private static func csvField(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}

/// Pretty-printed JSON with sorted keys, as a string.
func jsonText(_ value: some Encodable) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    return String(decoding: try encoder.encode(value), as: UTF8.self)
}

/// An integer with thousands separators: `28311552` → `"28,311,552"`.
func grouped(_ value: Int) -> String {
    let digits = String(value.magnitude)
    var result = ""
    for (i, digit) in digits.enumerated() {
        if i > 0 && (digits.count - i) % 3 == 0 { result.append(",") }
        result.append(digit)
    }
    return value < 0 ? "-" + result : result
}

/// `x` as a percentage with `decimals` digits: `0.02083` → `"2.08%"`.
func percent(_ x: Double, decimals: Int = 2) -> String {
    String(format: "%.\(decimals)f%%", x * 100)
}

/// A comma-separated list of values for a flag, e.g. `--ranks 4,8,16`.
struct ArgumentList<Element: ExpressibleByArgument>: ExpressibleByArgument {
    var values: [Element]

    init(_ values: [Element]) { self.values = values }

    init?(argument: String) {
        var values: [Element] = []
        for item in argument.split(separator: ",", omittingEmptySubsequences: false) {
            guard let value = Element(argument: item.trimmingCharacters(in: .whitespaces)) else { return nil }
            values.append(value)
        }
        self.values = values
    }

    var defaultValueDescription: String {
        values.map { "\($0.defaultValueDescription)" }.joined(separator: ",")
    }
}
