import ArgumentParser
import Foundation
import LoRAKit

/// `--plot FILE.svg`: also draw the command's figure (several panels in one SVG where it has several).
struct PlotOption: ParsableArguments {
    @Option(help: ArgumentHelp("Also write the figure to this SVG file.", valueName: "file.svg"))
    var plot: String?

    /// A file name ending in `.svg`; the command checks its directory with its other outputs
    /// (``OutputSafety``) before it computes, so a long computation does not end in a plot that
    /// cannot be written.
    func validate() throws {
        guard let plot else { return }
        if !plot.lowercased().hasSuffix(".svg") { throw ValidationError("--plot needs a .svg file name, got '\(plot)'") }
    }

    /// The file `--plot` writes, if given.
    var outputs: [CommandPath] { plot.map { [CommandPath(flag: "--plot", path: $0)] } ?? [] }

    /// Writes `figure()` to the file when `--plot` was given (atomically: a failure leaves no file).
    func write(_ figure: () -> Figure) throws {
        if let plot { try writeSVG(figure().svg(), to: OutputSafety.destination(plot)) }
    }
}
