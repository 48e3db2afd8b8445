import Foundation

/// Where an output may be written: never onto an input. Paths are compared by what they resolve
/// to, the file system's `(device, inode)` (symbolic links followed), so `dir`, `dir/.`,
/// `../x/dir` and a link to `dir` are all the same place.
enum OutputPath {
    /// Throws ``PEFTAdapterError/outputIsInput(output:input:)`` when `output` exists and is the
    /// same file or directory as one of `inputs`. An output that does not exist yet is no input.
    static func requireDistinct(_ output: URL, from inputs: [URL]) throws(PEFTAdapterError) {
        guard let target = identity(output) else { return }
        if let input = inputs.first(where: { identity($0) == target }) {
            throw .outputIsInput(output: output.path, input: input.path)
        }
    }

    private struct Identity: Equatable {
        let device: UInt64
        let inode: UInt64
    }

    private static func identity(_ url: URL) -> Identity? {
        var info = stat()
        guard stat(url.path, &info) == 0 else { return nil }
        return Identity(device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
    }
}
