import CTemporaryCleanup
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Files replaced only once all of them are complete: each is written to a temporary
/// `.<name>.<random>.partial` beside its destination, then ``commit()`` renames every temporary
/// over its destination, so a destination is either untouched or the whole new file, never a
/// part. Until then each temporary is registered with the signal handler
/// (``TemporaryFiles/removeOnInterrupt()``), which deletes it when the process is interrupted, and
/// ``discard()`` (or the end of the object's life without a commit) deletes it on any failure.
public final class StagedFiles {
    private struct Staged {
        let destination: URL
        let temporary: URL
        let slot: Int32
    }

    private var staged: [Staged] = []
    private var createdDirectories: [(url: URL, slot: Int32)] = []

    public init() {}

    deinit { discard() }

    /// Writes `destination`'s new content into its temporary: `produce` appends bytes through the
    /// ``FileOutput``. A failure removes the temporary and leaves `destination` untouched.
    public func stage(_ destination: URL, produce: (FileOutput) throws(FileSystemError) -> Void) throws(FileSystemError) {
        let name = ".\(destination.lastPathComponent).\(String(UInt64.random(in: .min ... .max), radix: 36)).partial"
        let temporary = destination.deletingLastPathComponent().appendingPathComponent(name)
        // Registered before it exists, so no moment passes in which the file is on disk unregistered.
        let entry = Staged(destination: destination, temporary: temporary, slot: lorakit_temporary_register(temporary.path))
        let descriptor = open(temporary.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            let error = FileSystemError.lastError(path: destination.path, operation: "create a file beside")
            lorakit_temporary_unregister(entry.slot)
            throw error
        }
        staged.append(entry)
        let output = FileOutput(descriptor: descriptor, path: destination.path)
        do {
            try produce(output)
            try output.finish()
        } catch {
            output.close()
            throw error
        }
    }

    /// Creates `directory` (not its parents) unless it exists; until ``commit()`` a failure or an
    /// interruption removes it again.
    public func createDirectory(_ directory: URL) throws(FileSystemError) {
        let slot = lorakit_temporary_register(directory.path)
        if mkdir(directory.path, 0o755) == 0 {
            createdDirectories.append((directory, slot))
            return
        }
        let error = FileSystemError.lastError(path: directory.path, operation: "create the directory")
        lorakit_temporary_unregister(slot)
        var status = stat()
        guard errno == EEXIST, stat(directory.path, &status) == 0, (status.st_mode & S_IFMT) == S_IFDIR else { throw error }
    }

    /// Stages `data` as the whole new content of `destination`.
    public func stage(_ destination: URL, data: Data) throws(FileSystemError) {
        try stage(destination) { output throws(FileSystemError) in try output.write(data) }
    }

    /// Renames every temporary over its destination, in the order staged.
    public func commit() throws(FileSystemError) {
        while let entry = staged.first {
            guard rename(entry.temporary.path, entry.destination.path) == 0 else {
                throw .lastError(path: entry.destination.path, operation: "rename the finished file into place")
            }
            lorakit_temporary_unregister(entry.slot)
            staged.removeFirst()
        }
        createdDirectories.forEach { lorakit_temporary_unregister($0.slot) }
        createdDirectories.removeAll()
    }

    /// Deletes every temporary not yet committed, and the directories created for them.
    public func discard() {
        for entry in staged {
            unlink(entry.temporary.path)
            lorakit_temporary_unregister(entry.slot)
        }
        staged.removeAll()
        for directory in createdDirectories.reversed() {
            rmdir(directory.url.path)
            lorakit_temporary_unregister(directory.slot)
        }
        createdDirectories.removeAll()
    }

    /// Writes `data` to `url` atomically: a temporary beside it, renamed over it.
    public static func write(_ data: Data, to url: URL) throws(FileSystemError) {
        let files = StagedFiles()
        try files.stage(url, data: data)
        try files.commit()
    }
}

/// The open temporary a ``StagedFiles`` producer appends to.
public final class FileOutput {
    private var descriptor: Int32
    private let path: String

    init(descriptor: Int32, path: String) {
        self.descriptor = descriptor
        self.path = path
    }

    /// Appends `data`, retrying short and interrupted writes.
    public func write(_ data: Data) throws(FileSystemError) {
        let failed = data.withUnsafeBytes { (bytes: UnsafeRawBufferPointer) -> Bool in
            var offset = 0
            while offset < bytes.count {
                let written = systemWrite(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
                if written < 0 && errno == EINTR { continue }
                guard written > 0 else { return true }
                offset += written
            }
            return false
        }
        if failed { throw .lastError(path: path, operation: "write") }
    }

    /// Flushes the data to the disk and closes, so a rename never exposes a file the system
    /// could still lose.
    func finish() throws(FileSystemError) {
        guard fsync(descriptor) == 0 else { throw .lastError(path: path, operation: "write") }
        let result = systemClose(descriptor)
        descriptor = -1
        guard result == 0 else { throw .lastError(path: path, operation: "write") }
    }

    func close() {
        if descriptor >= 0 { _ = systemClose(descriptor) }
        descriptor = -1
    }
}

// The system calls under names that FileOutput's own methods do not shadow.
private func systemWrite(_ descriptor: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int { write(descriptor, bytes, count) }
private func systemClose(_ descriptor: Int32) -> Int32 { close(descriptor) }
