import ArgumentParser
import Foundation
import LoRAKit

/// `--plot FILE.svg`: also draw the command's figure (several panels in one SVG where it has several).
struct PlotOption: ParsableArguments {
    @Option(help: ArgumentHelp("Also write the figure to this SVG file.", valueName: "file.svg"))
    var plot: String?

    /// A file name ending in `.svg`, in a directory that exists: a long computation should not end
    /// in a plot that cannot be written.
    func validate() throws {
        guard let plot else { return }
        if !plot.lowercased().hasSuffix(".svg") { throw ValidationError("--plot needs a .svg file name, got '\(plot)'") }
        let directory = URL(fileURLWithPath: plot).deletingLastPathComponent()
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ValidationError("--plot: cannot write the plot \(plot): no directory \(directory.path)")
        }
    }

    /// Writes `figure()` to the file when `--plot` was given (atomically: a failure leaves no file).
    func write(_ figure: () -> Figure) throws {
        if let plot { try writeSVG(figure().svg(), to: URL(fileURLWithPath: plot)) }
    }
}
