import ArgumentParser
import LoRAKit

/// What a command's `--format` prints: text for people or JSON for programs.
enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json
}

/// What a tabular command's `--format` prints: aligned text columns, a markdown table, CSV or JSON.
enum TableFormat: String, ExpressibleByArgument, CaseIterable {
    case text, markdown, csv, json
}

/// `--format text|json` of a command that prints a report.
struct FormatOption: ParsableArguments {
    @Option(help: "Output format.")
    var format: OutputFormat = .text

    func render(_ report: some Report) throws -> String {
        switch format {
        case .text: report.text()
        case .json: try report.json()
        }
    }
}

/// The `--format` a tabular command prints when none is given.
protocol DefaultTableFormat {
    static var format: TableFormat { get }
}

/// For tables people paste into documents.
enum MarkdownByDefault: DefaultTableFormat {
    static var format: TableFormat { .markdown }
}

/// For tables too wide for markdown to stay readable in a terminal.
enum TextByDefault: DefaultTableFormat {
    static var format: TableFormat { .text }
}

/// `--format text|markdown|csv|json` of a command that prints a table.
struct TableFormatOption<Default: DefaultTableFormat>: ParsableArguments {
    @Option(help: "Output format (csv and json: plain numbers, fractions rather than percentages).")
    var format: TableFormat = Default.format

    func render(_ report: some TableReport) throws -> String {
        switch format {
        case .text: report.text()
        case .markdown: report.markdown()
        case .csv: report.csv()
        case .json: try report.json()
        }
    }
}
