import Foundation
import LoRAKit

/// A path a command reads or writes, with the flag that named it.
struct CommandPath {
    var flag: String
    var path: String
    /// For a directory the command writes into: the names of the files it writes there.
    var files: [String]? = nil

    /// `--out merged.safetensors`.
    var spelled: String { "\(flag) \(path)" }
}

/// The check every command that writes makes before any work: each output can be written, and
/// none is one of its inputs or another output, compared by what the paths lead to (device and
/// inode after links, or for a file not there yet its directory's and its name), not by spelling.
enum OutputSafety {
    /// Throws a one-line failure for the first output that cannot be written or that is an input.
    /// `force` names the one input that may be replaced, the flag that allows it and whether it
    /// was given (the write is then a temporary file renamed over the input, so the input is whole
    /// until the new file is).
    static func check(
        outputs: [CommandPath], inputs: [CommandPath], force: (input: String, flag: String, given: Bool)? = nil
    ) throws(CommandFailure) {
        if let empty = (inputs + outputs).first(where: { $0.path.isEmpty }) {
            throw CommandFailure(description: "\(empty.flag) is an empty path: give a file name")
        }
        let inputIdentities = inputs.compactMap { input in (try? FileIdentity(path: input.path)).map { (input, $0) } }
        var written: [(CommandPath, FileIdentity)] = []
        for output in outputs {
            for (file, identity) in try identities(of: output) {
                if let (input, _) = inputIdentities.first(where: { $0.1 == identity }) {
                    let replaceable = force.flatMap { $0.input == input.flag ? $0 : nil }
                    if replaceable?.given != true {
                        let remedy = replaceable.map { "choose another path, or add \($0.flag) to replace it" } ?? "choose another path"
                        throw CommandFailure(description: "\(output.spelled) would overwrite \(input.spelled)"
                            + (file == output.path ? "" : " (\(file))") + ": \(remedy)")
                    }
                }
                if let (other, _) = written.first(where: { $0.1 == identity }) {
                    throw CommandFailure(description: "\(output.spelled) and \(other.spelled) are the same file: choose two paths")
                }
                written.append((output, identity))
            }
        }
    }

    /// Where a command writes the file `path`: the file a symbolic link there leads to, so that
    /// the write replaces what the link names rather than the link.
    static func destination(_ path: String) -> URL {
        let url = URL(fileURLWithPath: path)
        return FileManager.default.fileExists(atPath: path) ? url.resolvingSymlinksInPath() : url
    }

    /// The files `output` writes, each with its identity; throws when it cannot be written.
    private static func identities(of output: CommandPath) throws(CommandFailure) -> [(String, FileIdentity)] {
        let identity: FileIdentity
        do { identity = try FileIdentity(path: output.path) } catch {
            throw CommandFailure(description: "\(output.spelled): \(error.reason): create it first")
        }
        var isDirectory: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: output.path, isDirectory: &isDirectory)
        guard let files = output.files else {
            if exists && isDirectory.boolValue {
                throw CommandFailure(description: "\(output.spelled) is a directory: give a file name")
            }
            return [(output.path, identity)]
        }
        guard exists else { return [] }  // a new directory: nothing in it can be an input
        guard isDirectory.boolValue else {
            throw CommandFailure(description: "\(output.spelled) is a file: give a directory (it is created if missing)")
        }
        var result: [(String, FileIdentity)] = []
        for name in files {
            let path = URL(fileURLWithPath: output.path).appendingPathComponent(name).path
            if let identity = try? FileIdentity(path: path) { result.append((path, identity)) }
        }
        return result
    }
}
