import FileSafety
import Foundation

/// Where an output may be written: never onto an input. Paths are compared by what they resolve
/// to, the file system's `(device, inode)` (symbolic links followed), so `dir`, `dir/.`,
/// `../x/dir` and a link to `dir` are all the same place.
enum OutputPath {
    /// Throws ``PEFTAdapterError/outputIsInput(output:input:)`` when `output` exists and is the
    /// same file or directory as one of `inputs`. An output that does not exist yet is no input.
    static func requireDistinct(_ output: URL, from inputs: [URL]) throws(PEFTAdapterError) {
        guard let target = try? FileIdentity(path: output.path), target.exists else { return }
        if let input = inputs.first(where: { (try? FileIdentity(path: $0.path)) == target }) {
            throw .outputIsInput(output: output.path, input: input.path)
        }
    }
}
