internal import CQuantKernels
import Foundation
import Synchronization

/// One worker thread that shares split loops with the calling thread, spinning briefly between jobs.
///
/// A decode step runs ~211 block products of 5–300 µs each; waking a parked thread for each
/// (a futex, ~5–20 µs, as `DispatchQueue.concurrentPerform` does) would cost as much as the
/// products, so the helper spins on a counter between them and parks only after ``idleSpins``
/// iterations without work. A loop is cut into ``chunks`` pieces that both threads claim one at
/// a time, so a helper that is parked or not scheduled (a shared, oversubscribed machine) costs
/// at most the piece it holds: the caller claims the rest itself.
final class HelperThread: @unchecked Sendable {
    /// The process's helper, started on first use.
    static let shared = HelperThread()

    /// Pieces per loop.
    let chunks = 8
    /// `generation << 32 | next piece`: claiming a piece is one compare-exchange that fails
    /// once the caller has moved on to another loop.
    private let state = Atomic<Int>(0)
    private let completed = Atomic<Int>(0)
    private let parked = Atomic<Bool>(false)
    private let wake = DispatchSemaphore(value: 0)
    /// The current loop's piece `i`; written before `state` publishes its generation, replaced
    /// only after every piece of it completed.
    private var job: ((Int) -> Void)?
    private var generation = 0
    private let idleSpins = 20_000
    /// Held by the thread whose loop the helper shares.
    private let busy = NSLock()

    private init() {
        let thread = Thread { [unowned self] in self.loop() }
        thread.name = "lorakit-helper"
        thread.start()
    }

    /// Runs `body` on ``chunks`` consecutive pieces of `0..<count`, on this thread and the
    /// helper; returns when all are done. While another thread holds the helper, runs it all here.
    func split(_ count: Int, _ body: (Range<Int>) -> Void) {
        guard busy.try() else { return body(0..<count) }
        defer { busy.unlock() }
        let pieces = chunks
        withoutActuallyEscaping(body) { body in
            job = { piece in body((piece * count / pieces)..<((piece + 1) * count / pieces)) }
            generation = (generation + 1) & 0x7FFF_FFFF
            completed.store(0, ordering: .relaxed)
            state.store(generation << 32, ordering: .sequentiallyConsistent)
            if parked.exchange(false, ordering: .sequentiallyConsistent) { wake.signal() }
            while let piece = claim(generation) {
                job!(piece)
                completed.add(1, ordering: .releasing)
            }
            var waits = 0
            while completed.load(ordering: .acquiring) != pieces {
                waits += 1
                // The helper holds a piece but may not be running: let it.
                if waits % 1024 == 0 { sched_yield() } else { cqk_spin_pause() }
            }
            job = nil
        }
    }

    /// The next unclaimed piece of loop `generation`, or `nil` when none is left or another loop began.
    private func claim(_ generation: Int) -> Int? {
        var current = state.load(ordering: .acquiring)
        while current >> 32 == generation && current & 0xFFFF_FFFF < chunks {
            let (exchanged, original) = state.compareExchange(
                expected: current, desired: current + 1, successOrdering: .acquiringAndReleasing, failureOrdering: .acquiring)
            if exchanged { return current & 0xFFFF_FFFF }
            current = original
        }
        return nil
    }

    private func loop() {
        var seen = 0
        while true {
            var spins = 0
            var current = state.load(ordering: .acquiring) >> 32
            while current == seen {
                spins += 1
                if spins >= idleSpins {
                    parked.store(true, ordering: .sequentiallyConsistent)
                    if state.load(ordering: .sequentiallyConsistent) >> 32 == seen { wake.wait() }
                    parked.store(false, ordering: .sequentiallyConsistent)
                    spins = 0
                } else {
                    cqk_spin_pause()
                }
                current = state.load(ordering: .acquiring) >> 32
            }
            seen = current
            while let piece = claim(current) {
                job!(piece)
                completed.add(1, ordering: .releasing)
            }
        }
    }
}
