internal import CQuantKernels
import Foundation
import Synchronization

/// One worker thread that shares split loops with the calling thread, spinning briefly between jobs.
///
/// A decode step runs ~211 block products of 5–300 µs each, most right after another; a
/// thread pool that blocks the caller until a parked worker is up (a futex wake, as
/// `DispatchQueue.concurrentPerform` does) would cost as much as the products. Here the caller
/// never waits for the wake: it publishes the loop and starts on it, and the helper, spinning on
/// a counter for ``idleTime`` after its last piece (parked after that), joins when it sees the
/// loop. A loop is cut into pieces (``pieces(of:)``) that both threads claim
/// one at a time, so a helper that is parked or not scheduled (a shared, oversubscribed machine)
/// costs at most the piece it holds: the caller claims the rest itself, and the two finish within
/// one piece of each other.
final class HelperThread: @unchecked Sendable {
    /// The process's helper, started on first use.
    static let shared = HelperThread()

    /// Rows per piece are a multiple of this (the block kernels take four rows a pass).
    static let granule = 4
    /// The most pieces of one loop: each claim is a compare-exchange on a line both cores write.
    static let maximumPieces = 64
    /// Rows per piece at least, so a claim (≈ 0.1 µs) stays small beside the piece's work.
    static let minimumPieceRows = 32
    /// `generation << 32 | pieces << 16 | next piece`: claiming a piece is one compare-exchange
    /// that fails once the caller has moved on to another loop.
    private let state = Atomic<Int>(0)
    private let completed = Atomic<Int>(0)
    private let parked = Atomic<Bool>(false)
    private let wake = DispatchSemaphore(value: 0)
    /// The current loop and its length; written before `state` publishes its generation,
    /// replaced only after every piece of it completed.
    private var job: ((Range<Int>) -> Void)?
    private var jobCount = 0
    private var generation = 0
    /// How long the helper spins without work before it parks. Short: on a machine whose cores
    /// other processes share, a spinning helper takes a share of the CPU the caller could have
    /// had (docs/PERFORMANCE.md, SmolLM2), while waking it costs the caller one semaphore signal
    /// and the products of a layer follow each other within microseconds.
    private let idleTime = Duration.microseconds(5)
    /// Held by the thread whose loop the helper shares.
    private let busy = NSLock()

    private init() {
        let thread = Thread { [unowned self] in self.loop() }
        thread.name = "lorakit-helper"
        thread.start()
    }

    /// Pieces of a loop of `count` rows: about ``minimumPieceRows`` rows each, at most
    /// ``maximumPieces``, at least two.
    static func pieces(of count: Int) -> Int { min(maximumPieces, max(2, count / minimumPieceRows)) }

    /// Rows of piece `piece` of `pieces` over `0..<count`: boundaries on multiples of ``granule``.
    static func rows(ofPiece piece: Int, of pieces: Int, count: Int) -> Range<Int> {
        let boundary = { (i: Int) in i == pieces ? count : (i * count / pieces) / granule * granule }
        return boundary(piece)..<boundary(piece + 1)
    }

    /// Runs `body` on consecutive pieces of `0..<count` (``pieces(of:)``), on this thread and the
    /// helper; returns when all are done. While another thread holds the helper, runs it all here.
    func split(_ count: Int, _ body: (Range<Int>) -> Void) {
        guard busy.try() else { return body(0..<count) }
        defer { busy.unlock() }
        let pieces = Self.pieces(of: count)
        withoutActuallyEscaping(body) { body in
            (job, jobCount) = (body, count)
            generation = (generation + 1) & 0x7FFF_FFFF
            completed.store(0, ordering: .relaxed)
            state.store(generation << 32 | pieces << 16, ordering: .sequentiallyConsistent)
            if parked.exchange(false, ordering: .sequentiallyConsistent) { wake.signal() }
            runPieces(of: generation)
            var waits = 0
            while completed.load(ordering: .acquiring) != pieces {
                waits += 1
                // The helper holds a piece but may not be running: let it.
                if waits % 1024 == 0 { sched_yield() } else { cqk_spin_pause() }
            }
            job = nil
        }
    }

    /// Claims and runs pieces of loop `generation` until none is left.
    private func runPieces(of generation: Int) {
        while let (piece, pieces) = claim(generation) {
            job!(Self.rows(ofPiece: piece, of: pieces, count: jobCount))
            completed.add(1, ordering: .releasing)
        }
    }

    /// The next unclaimed piece of loop `generation` and the loop's piece count, or `nil` when
    /// none is left or another loop began.
    private func claim(_ generation: Int) -> (piece: Int, of: Int)? {
        var current = state.load(ordering: .acquiring)
        while current >> 32 == generation && current & 0xFFFF < (current >> 16) & 0xFFFF {
            let (exchanged, original) = state.compareExchange(
                expected: current, desired: current + 1, successOrdering: .acquiringAndReleasing, failureOrdering: .acquiring)
            if exchanged { return (current & 0xFFFF, (current >> 16) & 0xFFFF) }
            current = original
        }
        return nil
    }

    private func loop() {
        var seen = 0
        while true {
            var (spins, idleSince) = (0, ContinuousClock.now)
            var current = state.load(ordering: .acquiring) >> 32
            while current == seen {
                spins += 1
                if spins % 16 == 0 && ContinuousClock.now - idleSince >= idleTime {
                    parked.store(true, ordering: .sequentiallyConsistent)
                    if state.load(ordering: .sequentiallyConsistent) >> 32 == seen { wake.wait() }
                    parked.store(false, ordering: .sequentiallyConsistent)
                    idleSince = .now
                } else {
                    cqk_spin_pause()
                }
                current = state.load(ordering: .acquiring) >> 32
            }
            seen = current
            runPieces(of: current)
        }
    }
}
