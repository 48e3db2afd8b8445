/// A small, fast, seeded random number generator: xoshiro256** (Blackman & Vigna, 2018).
///
/// The 256-bit state is filled from the 64-bit seed by SplitMix64, as the authors recommend, so
/// every seed (0 included) gives a well-mixed, non-zero state. The same seed gives the same
/// sequence on every platform and run. Not for cryptography.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: (UInt64, UInt64, UInt64, UInt64)

    /// A generator whose sequence is fixed by `seed`.
    public init(seed: UInt64) {
        var splitMix = seed
        func nextSplitMix() -> UInt64 {
            splitMix &+= 0x9E37_79B9_7F4A_7C15
            var z = splitMix
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        state = (nextSplitMix(), nextSplitMix(), nextSplitMix(), nextSplitMix())
    }

    public mutating func next() -> UInt64 {
        let result = rotateLeft(state.1 &* 5, 7) &* 9
        let t = state.1 << 17
        state.2 ^= state.0
        state.3 ^= state.1
        state.1 ^= state.2
        state.0 ^= state.3
        state.2 ^= t
        state.3 = rotateLeft(state.3, 45)
        return result
    }

    private func rotateLeft(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }
}

extension MatrixScalar {
    /// A pair of independent standard normal samples by the Box–Muller transform:
    /// `√(−2 ln u₁)·(cos 2πu₂, sin 2πu₂)` with `u₁ ∈ (0, 1]`, `u₂ ∈ [0, 1)`.
    public static func standardNormalPair(using generator: inout some RandomNumberGenerator) -> (Self, Self) {
        // Sample in Double so Float gets the same quality of tails.
        let u1 = 1 - Double.random(in: 0..<1, using: &generator)
        let u2 = Double.random(in: 0..<1, using: &generator)
        let radius = (-2 * Double.log(u1)).squareRoot()
        let angle = 2 * Double.pi * u2
        return (Self(radius * Double.cos(angle)), Self(radius * Double.sin(angle)))
    }
}

/// Seeded random matrices.
extension Matrix {
    /// Elements drawn uniformly from `range`.
    @_specialize(exported: true, where Scalar == Float, G == SeededGenerator)
    @_specialize(exported: true, where Scalar == Double, G == SeededGenerator)
    public static func random<G: RandomNumberGenerator>(
        rows: Int, columns: Int, in range: ClosedRange<Scalar>,
        using generator: inout G
    ) -> Matrix {
        var elements = [Scalar]()
        elements.reserveCapacity(rows * columns)
        for _ in 0..<(rows * columns) { elements.append(Scalar.random(in: range, using: &generator)) }
        return Matrix(rows: rows, columns: columns, elements: elements)
    }

    /// Elements drawn from the normal distribution `N(mean, standardDeviation²)`.
    @_specialize(exported: true, where Scalar == Float, G == SeededGenerator)
    @_specialize(exported: true, where Scalar == Double, G == SeededGenerator)
    public static func randomNormal<G: RandomNumberGenerator>(
        rows: Int, columns: Int, mean: Scalar = 0, standardDeviation: Scalar = 1,
        using generator: inout G
    ) -> Matrix {
        let count = rows * columns
        var elements = [Scalar]()
        elements.reserveCapacity(count + 1)
        while elements.count < count {
            let (z0, z1) = Scalar.standardNormalPair(using: &generator)
            elements.append(mean + standardDeviation * z0)
            elements.append(mean + standardDeviation * z1)
        }
        elements.removeLast(elements.count - count)
        return Matrix(rows: rows, columns: columns, elements: elements)
    }

    /// A weight initialised as PyTorch's `kaiming_uniform_(w, a=√5)` for `w: rows×columns`
    /// (`out×in`): uniform on `[−b, b]` with `b = gain·√(3/fan_in)`, `gain = √(2/(1+a²))`,
    /// so `b = 1/√fan_in` with `fan_in = columns`.
    @_specialize(exported: true, where Scalar == Float, G == SeededGenerator)
    @_specialize(exported: true, where Scalar == Double, G == SeededGenerator)
    public static func kaimingUniform<G: RandomNumberGenerator>(
        rows: Int, columns: Int, using generator: inout G
    ) -> Matrix {
        precondition(columns > 0, "kaimingUniform: fan-in of \(rows)×\(columns) is zero")
        let bound = 1 / Scalar(columns).squareRoot()
        return random(rows: rows, columns: columns, in: -bound...bound, using: &generator)
    }
}
