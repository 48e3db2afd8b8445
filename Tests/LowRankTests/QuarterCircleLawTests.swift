import Foundation
import LowRank
import Testing

@Suite struct QuarterCircleLawTests {
    @Test func endpoints() {
        #expect(abs(QuarterCircleLaw.relativeError(rankFraction: 0) - 1) <= 1e-12)
        #expect(QuarterCircleLaw.relativeError(rankFraction: 1) <= 1e-7)
    }

    /// For small ρ the top singular values sit near 2 (energy 4 each), so the error ≈ √(1 − 4ρ).
    @Test func smallFractions() {
        for rho in [1e-6, 1e-5, 1e-4] {
            let error = QuarterCircleLaw.relativeError(rankFraction: rho)
            #expect(abs(error - (1 - 4 * rho).squareRoot()) <= 0.2 * rho)
        }
    }

    /// At ρ = 1/2 the cut-off is the median singular value: θ solves 2θ + sin 2θ = π/2.
    /// Reference θ by a separate fixed-point iteration θ = (π/2 − sin 2θ)/2, averaged to converge.
    @Test func halfRank() {
        var theta = 0.4
        for _ in 0..<200 { theta = 0.5 * theta + 0.5 * (Double.pi / 2 - sin(2 * theta)) / 2 }
        let expected = ((4 * theta - sin(4 * theta)) / (2 * Double.pi)).squareRoot()
        #expect(abs(QuarterCircleLaw.relativeError(rankFraction: 0.5) - expected) <= 1e-12)
        #expect(expected > 0.2 && expected < 0.4)
    }

    @Test func decreasing() {
        let values = stride(from: 0.0, through: 1.0, by: 0.05).map { QuarterCircleLaw.relativeError(rankFraction: $0) }
        #expect(zip(values, values.dropFirst()).allSatisfy { $0 > $1 })
    }
}
