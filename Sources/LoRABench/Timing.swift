/// The `q`-quantile (0 ≤ q ≤ 1) of `values`, interpolating linearly between order statistics
/// (numpy's default): `quantile(v, 0.5)` is the median.
func quantile(_ values: [Double], _ q: Double) -> Double {
    precondition(!values.isEmpty && (0...1).contains(q), "quantile \(q) of \(values.count) values")
    let sorted = values.sorted()
    let position = q * Double(sorted.count - 1)
    let lower = Int(position.rounded(.down))
    let upper = min(lower + 1, sorted.count - 1)
    return sorted[lower] + (position - Double(lower)) * (sorted[upper] - sorted[lower])
}

/// The median of `values`.
func median(_ values: [Double]) -> Double { quantile(values, 0.5) }

/// Wall-clock milliseconds per call of `body`, averaged over `repeats` back-to-back calls.
func millisecondsPerCall(repeats: Int = 1, _ body: () -> Void) -> Double {
    let clock = ContinuousClock()
    let elapsed = clock.measure {
        for _ in 0..<repeats { body() }
    }
    let (seconds, attoseconds) = elapsed.components
    return (Double(seconds) * 1e3 + Double(attoseconds) * 1e-15) / Double(repeats)
}

/// Per-round milliseconds per call of each of `operations`, after `settings.warmUpRounds`
/// discarded rounds: even rounds run them in order, odd rounds in reverse, so each takes turns
/// going first. Every sample repeats its operation as often as `operations[calibratingOn]` needs
/// to last `settings.minimumSampleMilliseconds`.
func interleavedRounds(_ operations: [() -> Void], calibratingOn index: Int, settings: LoRABenchmark.Settings) -> [[Double]] {
    operations.forEach { $0() }
    let once = millisecondsPerCall(operations[index])
    let repeats = min(10_000, max(1, Int((settings.minimumSampleMilliseconds / max(once, 1e-6)).rounded(.up))))
    var times = Array(repeating: [Double](), count: operations.count)
    for round in 0..<(settings.warmUpRounds + settings.rounds) {
        let order = round.isMultiple(of: 2) ? Array(operations.indices) : operations.indices.reversed()
        for index in order {
            let milliseconds = millisecondsPerCall(repeats: repeats, operations[index])
            if round >= settings.warmUpRounds { times[index].append(milliseconds) }
        }
    }
    return times
}
