import LinearAlgebra

/// A stack of ``TransformerBlock``s applied in order, children `blocks.0`, `blocks.1`, …
public final class TransformerStack<Scalar: MatrixScalar>: Module {
    /// The blocks, applied first to last.
    public let blocks: [TransformerBlock<Scalar>]

    /// `depth` blocks of width `d` with `heads` heads, drawn in order from `generator`.
    public init(depth: Int, features d: Int, heads: Int, isCausal: Bool = false, using generator: inout some RandomNumberGenerator) {
        precondition(depth > 0, "TransformerStack: depth \(depth)")
        var blocks: [TransformerBlock<Scalar>] = []
        for _ in 0..<depth {
            blocks.append(TransformerBlock(features: d, heads: heads, isCausal: isCausal, using: &generator))
        }
        self.blocks = blocks
    }

    private init(blocks: [TransformerBlock<Scalar>]) {
        self.blocks = blocks
    }

    public var localParameters: [(name: String, parameter: Parameter<Scalar>)] { [] }

    public var children: [(name: String, module: any Module<Scalar>)] {
        blocks.enumerated().map { ("blocks.\($0.offset)", $0.element) }
    }

    public func replica() -> TransformerStack { TransformerStack(blocks: blocks.map { $0.replica() }) }

    /// `Y: n×d` for `X: n×d` holding sequences of `sequenceLength` rows.
    public func forward(_ input: Matrix<Scalar>, sequenceLength: Int) -> Matrix<Scalar> {
        blocks.reduce(input) { $1.forward($0, sequenceLength: sequenceLength) }
    }

    /// `∂L/∂X` from `∂L/∂Y`, accumulating parameter gradients.
    public func backward(_ outputGradient: Matrix<Scalar>) -> Matrix<Scalar> {
        blocks.reversed().reduce(outputGradient) { $1.backward($0) }
    }

    /// The parameter gradients of ``backward(_:)`` without `∂L/∂X` (what training needs).
    public func accumulateParameterGradients(_ outputGradient: Matrix<Scalar>) {
        let firstBlockGradient = blocks.dropFirst().reversed().reduce(outputGradient) { $1.backward($0) }
        blocks[0].accumulateParameterGradients(firstBlockGradient)
    }
}
