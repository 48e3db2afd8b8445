import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The bytes of a file, memory-mapped read-only (`mmap`), so a multi-gigabyte model is paged in
/// on demand instead of copied; the mapping is released with the last copy of the `Data`.
enum MappedFile {
    static func read(_ url: URL) throws(TensorFileError) -> Data {
        let path = url.path
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else { throw .fileError(file: path, reason: "cannot open: \(String(cString: strerror(errno)))") }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            throw .fileError(file: path, reason: "cannot stat: \(String(cString: strerror(errno)))")
        }
        guard (status.st_mode & S_IFMT) == S_IFREG else { throw .fileError(file: path, reason: "not a regular file") }
        let size = Int(status.st_size)
        guard size > 0 else { return Data() }
        guard let address = mmap(nil, size, PROT_READ, MAP_PRIVATE, descriptor, 0), address != MAP_FAILED else {
            throw .fileError(file: path, reason: "cannot map: \(String(cString: strerror(errno)))")
        }
        return Data(bytesNoCopy: address, count: size, deallocator: .custom { pointer, count in
            munmap(pointer, count)
        })
    }
}
