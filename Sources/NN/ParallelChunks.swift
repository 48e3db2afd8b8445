import Dispatch
import LinearAlgebra

/// Runs `body` on contiguous chunks covering `0..<count`, one chunk per thread (`threads`, by
/// default ``BLAS/threadCount``) and concurrently (`DispatchQueue.concurrentPerform`), or on the
/// whole range inline when `count < 2·minimumChunk` or there is one thread.
///
/// For the element-wise and row-wise loops between GEMMs (GELU, LayerNorm, softmax): each item
/// is computed exactly as in a serial loop, so results are bit-identical; chunks must write
/// disjoint elements. While such a loop runs, the BLAS worker threads are idle, so it takes the
/// cores they would otherwise spin on. Inside a chunk the BLAS thread count is what it was, so
/// code that runs one chunk per core (model replicas) sets it to one around the call.
public func forEachChunk(of count: Int, minimumChunk: Int, threads: Int = BLAS.threadCount, _ body: (Range<Int>) -> Void) {
    let chunks = min(threads, count / max(minimumChunk, 1))
    guard chunks > 1 else {
        if count > 0 { body(0..<count) }
        return
    }
    withoutActuallyEscaping(body) { body in
        // The chunks touch disjoint elements, and `concurrentPerform` returns only when all
        // are done, so sharing the (non-`Sendable`) body and the buffers it captures is safe.
        let shared = UncheckedSendable(body)
        DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
            shared.value((chunk * count / chunks)..<((chunk + 1) * count / chunks))
        }
    }
}

/// A value handed to concurrent code whose accesses the caller keeps disjoint.
private struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
