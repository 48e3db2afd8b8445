import Foundation
import LinearAlgebra

/// Rotary position embedding (RoPE; Su et al. 2021) in the layout of Hugging Face's LLaMA
/// (`rotate_half`): within each head of `e` columns, column `i < e/2` pairs with column `i + e/2`,
/// and the pair at position `p` turns by the angle `p·θᵢ`, `θᵢ = base^(−2i/e)`:
/// `x'ᵢ = xᵢ·cos − x_{i+e/2}·sin`, `x'_{i+e/2} = x_{i+e/2}·cos + xᵢ·sin`.
///
/// A rotation's transpose is the rotation by the opposite angle, so the backward pass of
/// ``apply(to:heads:positions:)`` is ``apply(to:heads:positions:inverse:)`` with `inverse: true`.
/// (GGUF files from llama.cpp store `W_q`, `W_k` with each head's rows interleaved for its
/// pairwise layout; loaders un-permute them into this one.)
public struct RotaryEmbedding<Scalar: MatrixScalar>: Sendable {
    /// Columns per head `e` (even).
    public let headSize: Int
    /// The base of the angles, `θᵢ = base^(−2i/e)` (10000 in LLaMA 1–2, 100000 in SmolLM2).
    public let base: Double
    /// Positions `0..<maximumPositions` have their angles tabulated.
    public let maximumPositions: Int
    /// `cos(p·θᵢ)` and `sin(p·θᵢ)` at `[p·e/2 + i]`, computed in Double once.
    private let cosines: [Scalar], sines: [Scalar]

    /// Angles for head size `e`, `base`, and positions below `maximumPositions` (the context).
    public init(headSize: Int, base: Double, maximumPositions: Int) {
        precondition(headSize > 0 && headSize.isMultiple(of: 2), "RotaryEmbedding: head size \(headSize) is not even")
        precondition(maximumPositions > 0, "RotaryEmbedding: \(maximumPositions) positions")
        self.headSize = headSize
        self.base = base
        self.maximumPositions = maximumPositions
        let half = headSize / 2
        let frequencies = (0..<half).map { 1 / Foundation.pow(base, Double(2 * $0) / Double(headSize)) }
        let angles = (0..<maximumPositions).flatMap { p in frequencies.map { Double(p) * $0 } }
        cosines = angles.map { Scalar(Foundation.cos($0)) }
        sines = angles.map { Scalar(Foundation.sin($0)) }
    }

    /// Rotates every head of every row of `x: n×(heads·e)` in place, row `r` at position
    /// `positions(r)` (`< maximumPositions`); `inverse` turns by the opposite angles (the
    /// backward pass).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func apply(to x: inout Matrix<Scalar>, heads: Int, positions: (Int) -> Int, inverse: Bool = false) {
        let (n, width, e, half) = (x.rows, x.columns, headSize, headSize / 2)
        precondition(width == heads * e, "RotaryEmbedding: X \(x.shapeDescription) is not \(heads) heads of \(e)")
        let sign: Scalar = inverse ? -1 : 1
        cosines.withUnsafeBufferPointer { cosines in
            sines.withUnsafeBufferPointer { sines in
                x.withUnsafeMutableBufferPointer { values in
                    for r in 0..<n {
                        let p = positions(r)
                        precondition(p >= 0 && p < maximumPositions, "RotaryEmbedding: position \(p) outside 0..<\(maximumPositions)")
                        let (c, s) = (cosines.baseAddress! + p * half, sines.baseAddress! + p * half)
                        for h in 0..<heads {
                            Self.rotate(values.baseAddress! + r * width + h * e, half: half, cosines: c, sines: s, sign: sign)
                        }
                    }
                }
            }
        }
    }

    /// One head: `(a, b) ← (a·cos − b·sin, b·cos + a·sin)` for the pairs `(i, i + e/2)`.
    @inline(__always)
    private static func rotate(
        _ head: UnsafeMutablePointer<Scalar>, half: Int, cosines c: UnsafePointer<Scalar>, sines s: UnsafePointer<Scalar>,
        sign: Scalar
    ) {
        for i in 0..<half {
            let (a, b, sine) = (head[i], head[i + half], sign * s[i])
            head[i] = a * c[i] - b * sine
            head[i + half] = b * c[i] + a * sine
        }
    }
}
