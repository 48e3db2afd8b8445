import LinearAlgebra

/// A lookup table of token embeddings (PyTorch's `nn.Embedding`): row `i` of the output is row
/// `idsᵢ` of the weight `E: V×d`.
///
/// Backward adds `∂L/∂Y` row `i` into row `idsᵢ` of `∂L/∂E` when the table trains; there is no
/// input gradient (the input is integers). A language model ties its output head to the same
/// table (``projectedCrossEntropy(hidden:weight:targets:rowsPerChunk:computingGradient:)``).
public final class Embedding<Scalar: MatrixScalar>: Module {
    /// The table `E: V×d` (PyTorch's `weight`).
    public let weight: Parameter<Scalar>
    private var ids: [Int] = []

    /// A table with the given weight `E: V×d`.
    public init(weight: Parameter<Scalar>) { self.weight = weight }

    /// Vocabulary size `V`.
    public var vocabularySize: Int { weight.value.rows }
    /// Embedding width `d`.
    public var features: Int { weight.value.columns }

    public var localParameters: [(name: String, parameter: Parameter<Scalar>)] { [("weight", weight)] }
    public var children: [(name: String, module: any Module<Scalar>)] { [] }
    public func replica() -> Embedding { Embedding(weight: weight.replica()) }

    /// `Y: n×d`, row `i` = `E[idsᵢ]`; every id must be in `0..<V`.
    public func forward(_ ids: [Int]) -> Matrix<Scalar> {
        let (table, d) = (weight.value, features)
        precondition(ids.allSatisfy { (0..<table.rows).contains($0) },
                     "Embedding.forward: an id is outside 0..<\(table.rows)")
        self.ids = ids
        var output = Matrix<Scalar>.unsafeUninitialized(ids.count, d)
        table.withUnsafeBufferPointer { e in
            output.withUnsafeMutableBufferPointer { y in
                for (i, id) in ids.enumerated() {
                    (y.baseAddress! + i * d).update(from: e.baseAddress! + id * d, count: d)
                }
            }
        }
        return output
    }

    /// Adds `∂L/∂Y` into the rows of `∂L/∂E` that the last forward read, when the table trains.
    public func backward(_ outputGradient: Matrix<Scalar>) {
        precondition(outputGradient.rows == ids.count && outputGradient.columns == features,
                     "Embedding.backward: ∂L/∂Y \(outputGradient.shapeDescription), forward gave \(ids.count)×\(features)")
        guard weight.isTrainable else { return }
        let d = features
        weight.modifyGradient { gradient in
            gradient.withUnsafeMutableBufferPointer { g in
                outputGradient.withUnsafeBufferPointer { dy in
                    for (i, id) in ids.enumerated() { addRow(dy.baseAddress! + i * d, into: g.baseAddress! + id * d, count: d) }
                }
            }
        }
    }
}
