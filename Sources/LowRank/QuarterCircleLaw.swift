import Foundation

/// The quarter-circle law: the singular values of an `n×n` matrix of i.i.d. `N(0, s²)` entries,
/// divided by `s·√n`, have density `√(4 − x²)/π` on `[0, 2]` as `n → ∞`. The relative Frobenius
/// error of the best rank-`r` approximation then depends only on `ρ = r/n`.
public enum QuarterCircleLaw {
    /// The limiting relative error `‖M − M_r‖_F / ‖M‖_F` at `ρ = r/n ∈ [0, 1]`.
    ///
    /// Writing the cut-off singular value as `2·sin θ`, the fraction of values above it is
    /// `1 − (2θ + sin 2θ)/π = ρ` and the energy below it is `(4θ − sin 4θ)/(2π)`; so solve
    /// `(2θ + sin 2θ)/π = 1 − ρ` for `θ ∈ [0, π/2]` (by bisection: the left side increases from 0
    /// to 1) and return `√((4θ − sin 4θ)/(2π))`. `ρ = 0` gives 1, `ρ = 1` gives 0, and a small `ρ`
    /// gives `≈ √(1 − 4ρ)` (the top values all sit near 2, each taking energy 4 of the mean 1).
    public static func relativeError(rankFraction rho: Double) -> Double {
        precondition(rho >= 0 && rho <= 1, "rank fraction \(rho) is not in [0, 1]")
        let theta = cutOffAngle(rankFraction: rho)
        return Swift.max(0, (4 * theta - sin(4 * theta)) / (2 * Double.pi)).squareRoot()
    }

    /// `θ ∈ [0, π/2]` with `(2θ + sin 2θ)/π = 1 − ρ`, to the last bit by bisection.
    static func cutOffAngle(rankFraction rho: Double) -> Double {
        let target = 1 - rho
        var (low, high) = (0.0, Double.pi / 2)
        while true {
            let middle = (low + high) / 2
            guard middle > low && middle < high else { return middle }
            if (2 * middle + sin(2 * middle)) / Double.pi < target { low = middle } else { high = middle }
        }
    }
}
