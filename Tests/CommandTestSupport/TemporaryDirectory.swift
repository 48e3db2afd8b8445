import Foundation

/// A fresh empty directory `<prefix>-<UUID>` under the temporary directory; the caller removes it
/// (`try? FileManager.default.removeItem(at:)`).
public func makeTemporaryDirectory(prefix: String) throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}
