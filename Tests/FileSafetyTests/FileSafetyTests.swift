import FileSafety
import Foundation
import Testing

/// Staged writes replace a file whole or not at all and leave no temporary; identities see
/// through symbolic and hard links.
@Suite("FileSafety")
struct FileSafetyTests {
    private func directory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("FileSafetyTests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    private func names(in url: URL) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: url.path).sorted()
    }

    @Test func stagedFilesAppearOnlyOnCommit() throws {
        let root = try directory()
        defer { try? FileManager.default.removeItem(at: root) }
        let a = root.appendingPathComponent("a.bin"), b = root.appendingPathComponent("b.bin")
        try Data("old".utf8).write(to: a)
        let files = StagedFiles()
        try files.stage(a, data: Data("new a".utf8))
        try files.stage(b) { output throws(FileSystemError) in
            try output.write(Data("new ".utf8))
            try output.write(Data("b".utf8))
        }
        #expect(try names(in: root).filter { $0.hasSuffix(".partial") }.count == 2)
        #expect(try String(contentsOf: a, encoding: .utf8) == "old")
        try files.commit()
        #expect(try String(contentsOf: a, encoding: .utf8) == "new a" && String(contentsOf: b, encoding: .utf8) == "new b")
        #expect(try names(in: root) == ["a.bin", "b.bin"])
    }

    @Test func failedOrAbandonedStagingLeavesTheDestination() throws {
        let root = try directory()
        defer { try? FileManager.default.removeItem(at: root) }
        let a = root.appendingPathComponent("a.bin")
        try Data("old".utf8).write(to: a)
        let failing = StagedFiles()
        #expect(throws: FileSystemError.self) {
            try failing.stage(a) { output throws(FileSystemError) in
                try output.write(Data("partial".utf8))
                throw FileSystemError(path: a.path, operation: "write", reason: "planted")
            }
        }
        failing.discard()
        do {
            let abandoned = StagedFiles()
            try abandoned.stage(a, data: Data("never committed".utf8))
        }
        #expect(try names(in: root) == ["a.bin"] && String(contentsOf: a, encoding: .utf8) == "old")
        let missing = root.appendingPathComponent("no/such/dir/x.bin")
        let error = #expect(throws: FileSystemError.self) { try StagedFiles.write(Data(), to: missing) }
        #expect(error?.description.contains("No such file or directory") == true, "\(String(describing: error))")
    }

    @Test func identityFollowsLinks() throws {
        let root = try directory()
        defer { try? FileManager.default.removeItem(at: root) }
        let file = root.appendingPathComponent("base.bin")
        try Data("x".utf8).write(to: file)
        let symbolic = root.appendingPathComponent("link.bin"), hard = root.appendingPathComponent("hard.bin")
        try FileManager.default.createSymbolicLink(at: symbolic, withDestinationURL: file)
        try FileManager.default.linkItem(at: file, to: hard)
        let identity = try FileIdentity(path: file.path)
        #expect(identity.exists)
        #expect(try FileIdentity(path: symbolic.path) == identity && FileIdentity(path: hard.path) == identity)
        #expect(try FileIdentity(path: root.path + "/./base.bin") == identity)
        let planned = try FileIdentity(path: root.appendingPathComponent("new.bin").path)
        #expect(!planned.exists && planned != identity)
        #expect(try FileIdentity(path: root.appendingPathComponent("./new.bin").path) == planned)
        #expect(throws: FileSystemError.self) { try FileIdentity(path: root.appendingPathComponent("no/new.bin").path) }
    }

    @Test func contentsReportTheSystemReason() throws {
        let root = try directory()
        defer { try? FileManager.default.removeItem(at: root) }
        let missing = #expect(throws: FileSystemError.self) { try FileContents.bytes(of: root.appendingPathComponent("none")) }
        #expect(missing?.description == "\(root.path)/none: cannot open: No such file or directory")
        let folder = #expect(throws: FileSystemError.self) { try FileContents.bytes(of: root) }
        #expect(folder?.reason == "it is a directory, not a file")
        try Data("abc".utf8).write(to: root.appendingPathComponent("f"))
        #expect(try FileContents.bytes(of: root.appendingPathComponent("f")) == Data("abc".utf8))
    }
}
