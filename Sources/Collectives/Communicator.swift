internal import CMPI
import Glibc

/// An MPI call that did not succeed, naming the call; one line.
public enum CollectiveError: Error, Equatable, Sendable, CustomStringConvertible {
    /// `call` returned the error `code`; `message` is MPI's text for it.
    case failed(call: String, code: Int32, message: String)
    /// MPI cannot take calls from more than the main thread (`MPI_Init_thread` gave `provided`).
    case threadLevelTooLow(provided: Int32)

    public var description: String {
        switch self {
        case let .failed(call, code, message): "\(call) failed: \(message) (MPI error \(code))"
        case let .threadLevelTooLow(provided):
            "MPI_Init_thread: thread level \(provided) given, MPI_THREAD_SERIALIZED needed"
        }
    }
}

/// The processes one `mpirun` started (MPI's `MPI_COMM_WORLD`), or this process alone.
///
/// A process that `mpirun` did not start (no `OMPI_COMM_WORLD_SIZE` in its environment) gets a
/// communicator of size 1 whose collectives return their input without calling MPI, so programs
/// and tests run anywhere. Under `mpirun`, MPI is initialised on first use and finalised at exit.
///
/// MPI's rules hold: every rank makes the same collective calls in the same order with the same
/// counts (a rank that skips one leaves the others waiting), from one thread at a time. A rank
/// that fails must ``abort(exitCode:)`` rather than exit: the others may be waiting in a
/// collective, and `MPI_Finalize` would wait for them.
public final class Communicator: Sendable {
    /// This process's index, `0 ..< size`.
    public let rank: Int
    /// Processes in the run.
    public let size: Int
    /// Whether `mpirun` started the process and MPI is initialised.
    public let isLaunchedByMPI: Bool

    private static let shared = Result { () throws(CollectiveError) in try Communicator() }

    /// The processes of this run (initialising MPI the first time, under `mpirun`).
    public static func world() throws(CollectiveError) -> Communicator { try shared.get() }

    private init() throws(CollectiveError) {
        guard getenv("OMPI_COMM_WORLD_SIZE") != nil else {
            (rank, size, isLaunchedByMPI) = (0, 1, false)
            return
        }
        // SERIALIZED: callers may be on any thread (one at a time), not only the main one.
        var provided: Int32 = 0
        try Self.check("MPI_Init_thread", MPI_Init_thread(nil, nil, Int32(MPI_THREAD_SERIALIZED), &provided))
        guard provided >= Int32(MPI_THREAD_SERIALIZED) else { throw .threadLevelTooLow(provided: provided) }
        atexit { _ = MPI_Finalize() }
        // Failures come back as return codes (typed errors) instead of MPI aborting the run.
        try Self.check("MPI_Comm_set_errhandler", MPI_Comm_set_errhandler(cmpi_comm_world(), cmpi_errors_return()))
        var rank: Int32 = 0, size: Int32 = 0
        try Self.check("MPI_Comm_rank", MPI_Comm_rank(cmpi_comm_world(), &rank))
        try Self.check("MPI_Comm_size", MPI_Comm_size(cmpi_comm_world(), &size))
        (self.rank, self.size, isLaunchedByMPI) = (Int(rank), Int(size), true)
    }

    /// `values ← Σ_ranks values`, element by element, on every rank (`MPI_Allreduce`, in place).
    public func allReduceSum(_ values: UnsafeMutableBufferPointer<Float>) throws(CollectiveError) {
        try allReduceSum(values, cmpi_float())
    }

    /// `values ← Σ_ranks values`, element by element, on every rank (`MPI_Allreduce`, in place).
    public func allReduceSum(_ values: UnsafeMutableBufferPointer<Double>) throws(CollectiveError) {
        try allReduceSum(values, cmpi_double())
    }

    /// `values ← values of rank root` on every rank (`MPI_Bcast`); counts must agree.
    public func broadcast(_ values: UnsafeMutableBufferPointer<Float>, from root: Int) throws(CollectiveError) {
        try broadcast(values, cmpi_float(), from: root)
    }

    /// `values ← values of rank root` on every rank (`MPI_Bcast`); counts must agree.
    public func broadcast(_ values: UnsafeMutableBufferPointer<Double>, from root: Int) throws(CollectiveError) {
        try broadcast(values, cmpi_double(), from: root)
    }

    /// Rank `root`'s `bytes` on every rank (what the others pass is ignored): its length, then
    /// its bytes. For small messages such as a JSON header.
    public func broadcast(bytes: [UInt8], from root: Int) throws(CollectiveError) -> [UInt8] {
        guard isLaunchedByMPI else { return bytes }
        var count = UInt64(bytes.count)
        try Self.check("MPI_Bcast", MPI_Bcast(&count, 1, cmpi_uint64(), Int32(root), cmpi_comm_world()))
        var received = rank == root ? bytes : [UInt8](repeating: 0, count: Int(count))
        try received.withUnsafeMutableBufferPointer { buffer throws(CollectiveError) in
            try broadcast(buffer, cmpi_byte(), from: root)
        }
        return received
    }

    /// Returns once every rank has called it (`MPI_Barrier`).
    public func barrier() throws(CollectiveError) {
        guard isLaunchedByMPI else { return }
        try Self.check("MPI_Barrier", MPI_Barrier(cmpi_comm_world()))
    }

    /// Ends every rank of the run with `exitCode` (`MPI_Abort`), or this process alone.
    public func abort(exitCode: Int32) -> Never {
        if isLaunchedByMPI { _ = MPI_Abort(cmpi_comm_world(), exitCode) }
        exit(exitCode)
    }

    private func allReduceSum<T>(_ values: UnsafeMutableBufferPointer<T>, _ type: MPI_Datatype) throws(CollectiveError) {
        guard isLaunchedByMPI else { return }
        for chunk in Self.chunks(values) {
            try Self.check(
                "MPI_Allreduce",
                MPI_Allreduce(cmpi_in_place(), chunk.start, chunk.count, type, cmpi_sum(), cmpi_comm_world()))
        }
    }

    private func broadcast<T>(_ values: UnsafeMutableBufferPointer<T>, _ type: MPI_Datatype, from root: Int) throws(CollectiveError) {
        precondition((0..<size).contains(root), "Communicator.broadcast: root \(root) of \(size) ranks")
        guard isLaunchedByMPI else { return }
        for chunk in Self.chunks(values) {
            try Self.check("MPI_Bcast", MPI_Bcast(chunk.start, chunk.count, type, Int32(root), cmpi_comm_world()))
        }
    }

    /// `values` in pieces of at most `Int32.max` elements: MPI counts are `int`.
    private static func chunks<T>(_ values: UnsafeMutableBufferPointer<T>) -> [(start: UnsafeMutablePointer<T>, count: Int32)] {
        guard let base = values.baseAddress else { return [] }
        let limit = Int(Int32.max)
        return stride(from: 0, to: values.count, by: limit).map { (base + $0, Int32(min(limit, values.count - $0))) }
    }

    private static func check(_ call: String, _ code: Int32) throws(CollectiveError) {
        guard code != MPI_SUCCESS else { return }
        var text = [CChar](repeating: 0, count: Int(MPI_MAX_ERROR_STRING))
        var length: Int32 = 0
        let message = MPI_Error_string(code, &text, &length) == MPI_SUCCESS
            ? String(decoding: text.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self) : "unknown error"
        throw .failed(call: call, code: code, message: message)
    }
}
