import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Which file a path names, whatever spelling, symbolic link or hard link leads to it: the device
/// and inode of an existing file (links followed), or, for a path with nothing there yet, the
/// device and inode of its directory and the name it will get there.
public enum FileIdentity: Hashable, Sendable {
    case existing(device: UInt64, inode: UInt64)
    case planned(directoryDevice: UInt64, directoryInode: UInt64, name: String)

    /// The identity of `path`; throws when neither it nor its directory exists.
    public init(path: String) throws(FileSystemError) {
        var status = stat()
        if stat(path, &status) == 0 {
            self = .existing(device: UInt64(status.st_dev), inode: UInt64(status.st_ino))
            return
        }
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent().path
        guard stat(directory, &status) == 0, (status.st_mode & S_IFMT) == S_IFDIR else {
            throw FileSystemError(path: path, operation: "write", reason: "no directory \(directory)")
        }
        self = .planned(directoryDevice: UInt64(status.st_dev), directoryInode: UInt64(status.st_ino), name: url.lastPathComponent)
    }

    /// Whether something is at the path now (a directory counts).
    public var exists: Bool {
        if case .existing = self { true } else { false }
    }
}
