import CLowRankKernel
import Synchronization
import Testing

/// `lowrank_run_parts`, the pinned helper threads of the packed low-rank kernel: every part runs
/// once, whatever the calls before it (a call with fewer parts than helpers already started must
/// not hand out more), and a part that runs parts itself runs them inline.
@Suite("Helper threads run every part once")
struct HelperThreadsTests {
    /// How often each part ran.
    final class Counts: Sendable {
        let runs: Mutex<[Int]>
        init(_ count: Int) { runs = Mutex([Int](repeating: 0, count: count)) }
    }

    /// Parts that count themselves in `counts[base + part]`, or (`inner > 0`) each run `inner`
    /// parts of their own.
    final class Parts: Sendable {
        let counts: Counts, base: Int, inner: Int
        init(counts: Counts, base: Int = 0, inner: Int = 0) { (self.counts, self.base, self.inner) = (counts, base, inner) }

        func run(_ part: Int) {
            guard inner > 0 else { return counts.runs.withLock { $0[base + part] += 1 } }
            Parts(counts: counts, base: (base + part) * inner).runAll(inner)
        }

        func runAll(_ parts: Int) {
            withExtendedLifetime(self) {
                lowrank_run_parts(
                    { context, part in Unmanaged<Parts>.fromOpaque(context!).takeUnretainedValue().run(Int(part)) },
                    Unmanaged.passUnretained(self).toOpaque(), Int32(parts))
            }
        }
    }

    @Test func everyPartOnceWhateverCameBefore() {
        for parts in [5, 2, 7, 3, 1, 0, 4] {
            let counts = Counts(parts)
            Parts(counts: counts).runAll(parts)
            #expect(counts.runs.withLock { $0 } == [Int](repeating: 1, count: parts), "\(parts) parts")
        }
    }

    @Test func nestedPartsRunInline() {
        let counts = Counts(12)
        Parts(counts: counts, inner: 3).runAll(4)
        #expect(counts.runs.withLock { $0 } == [Int](repeating: 1, count: 12))
    }
}
