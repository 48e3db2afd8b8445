/// The median of `values` (the mean of the middle two for an even count); `values` must not be empty.
func median(_ values: [Double]) -> Double {
    precondition(!values.isEmpty, "median of no values")
    let sorted = values.sorted()
    let middle = sorted.count / 2
    return sorted.count.isMultiple(of: 2) ? (sorted[middle - 1] + sorted[middle]) / 2 : sorted[middle]
}

/// Wall-clock milliseconds per call of `body`, averaged over `repeats` back-to-back calls.
func millisecondsPerCall(repeats: Int = 1, _ body: () -> Void) -> Double {
    let clock = ContinuousClock()
    let elapsed = clock.measure {
        for _ in 0..<repeats { body() }
    }
    let (seconds, attoseconds) = elapsed.components
    return (Double(seconds) * 1e3 + Double(attoseconds) * 1e-15) / Double(repeats)
}
