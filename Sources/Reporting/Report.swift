import Foundation

/// A result a command prints: as text for people, as JSON (its `Encodable` form) for programs.
public protocol Report: Encodable {
    /// What a person reads.
    func text() -> String
}

/// A report whose body is one table: it also prints as a markdown table and as CSV.
public protocol TableReport: Report {
    /// The heading lines, the table in markdown, and any notes under it.
    func markdown() -> String
    /// The table alone, with machine-readable cells (plain numbers, fractions rather than percentages).
    func csv() -> String
}

extension Report {
    /// Pretty-printed JSON with sorted keys.
    public func json() throws -> String { try jsonText(self) }
}

/// Pretty-printed JSON of `value` with sorted keys and unescaped slashes, as a string.
public func jsonText(_ value: some Encodable) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    return String(decoding: try encoder.encode(value), as: UTF8.self)
}
