import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A file-system operation that failed, with the system's own reason, e.g.
/// `out/a.safetensors: cannot create: No such file or directory`.
public struct FileSystemError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The file or directory the operation was on.
    public var path: String
    /// What was attempted, as a verb phrase: `open`, `write`, `rename into place`.
    public var operation: String
    /// Why it failed, e.g. `Permission denied`.
    public var reason: String

    public init(path: String, operation: String, reason: String) {
        self.path = path
        self.operation = operation
        self.reason = reason
    }

    /// The failure `errno` reports for the call just made.
    static func lastError(path: String, operation: String) -> FileSystemError {
        FileSystemError(path: path, operation: operation, reason: String(cString: strerror(errno)))
    }

    public var description: String { "\(path): cannot \(operation): \(reason)" }
}

/// Reading whole files with the system's reasons for failure (Foundation's reading APIs report
/// them as error domains and codes).
public enum FileContents {
    /// The bytes of the regular file at `url`.
    public static func bytes(of url: URL) throws(FileSystemError) -> Data {
        let path = url.path
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw .lastError(path: path, operation: "open") }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw .lastError(path: path, operation: "read") }
        guard (status.st_mode & S_IFMT) == S_IFREG else {
            throw FileSystemError(path: path, operation: "read", reason: (status.st_mode & S_IFMT) == S_IFDIR
                ? "it is a directory, not a file" : "not a regular file")
        }
        var data = Data(count: Int(status.st_size))
        var offset = 0
        while offset < data.count {
            let count = data.withUnsafeMutableBytes { read(descriptor, $0.baseAddress! + offset, $0.count - offset) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else {
                if count == 0 { break }  // the file shrank while being read: return what it holds
                throw .lastError(path: path, operation: "read")
            }
            offset += count
        }
        return data.prefix(offset)
    }
}
