/// Which adapter each row of a batch uses (PEFT's `adapter_names`), grouped for
/// ``MultiLoRALinear``'s mixed-batch forward: per adapter, the rows it serves, as one contiguous
/// range where they are one (the rows are then read and written in place) or as a list of rows
/// (gathered into a contiguous block and scattered back).
///
/// ``baseName`` (`"__base__"`) marks a row that gets no adapter, as in PEFT.
public struct AdapterRowAssignment: Sendable, Equatable {
    /// The rows of one adapter.
    public enum Rows: Sendable, Equatable {
        /// Rows `lowerBound ..< upperBound`, contiguous.
        case range(Range<Int>)
        /// Rows at these indices, ascending, not one contiguous run.
        case indices([Int])

        /// How many rows.
        public var count: Int {
            switch self {
            case let .range(range): range.count
            case let .indices(indices): indices.count
            }
        }
    }

    /// The name that stands for no adapter: the row gets the base layer's output.
    public static let baseName = "__base__"

    /// The adapter name of every row.
    public let rowAdapters: [String]
    /// The adapters used, in order of first appearance, with their rows (base rows left out).
    public let groups: [(name: String, rows: Rows)]

    /// An assignment of `rowAdapters[i]` to row `i` (``baseName`` for none).
    public init(rowAdapters: [String]) {
        self.rowAdapters = rowAdapters
        var order: [String] = []
        var rowsByName: [String: [Int]] = [:]
        for (row, name) in rowAdapters.enumerated() where name != Self.baseName {
            if rowsByName[name] == nil { order.append(name) }
            rowsByName[name, default: []].append(row)
        }
        groups = order.map { name in
            let rows = rowsByName[name]!
            return (name, rows.last! - rows.first! + 1 == rows.count ? .range(rows.first!..<(rows.last! + 1)) : .indices(rows))
        }
    }

    /// A batch of whole sequences of `sequenceLength` rows each (a language model's batched
    /// forward: sequence `b` is rows `b·T ..< (b+1)·T`), sequence `b` using `sequenceAdapters[b]`.
    public init(sequenceAdapters: [String], sequenceLength: Int) {
        precondition(sequenceLength > 0, "AdapterRowAssignment: sequence length \(sequenceLength) must be positive")
        self.init(rowAdapters: sequenceAdapters.flatMap { Array(repeating: $0, count: sequenceLength) })
    }

    /// Rows in the batch.
    public var rowCount: Int { rowAdapters.count }

    /// The adapter names used (not ``baseName``), in order of first appearance.
    public var adapterNames: [String] { groups.map(\.name) }

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.rowAdapters == rhs.rowAdapters }
}
