import NN

/// A layer whose frozen weight is stored quantized rather than as a parameter.
public protocol QuantizedWeightLayer {
    /// Bytes of the stored weight (codes and scales).
    var quantizedWeightBytes: Int { get }
}

extension Module {
    /// Bytes the model's weights take as stored: every parameter's elements at
    /// `MemoryLayout<Scalar>.size`, plus each ``QuantizedWeightLayer``'s stored weight. A
    /// parameter reached by two paths is counted once per path.
    public var storedWeightBytes: Int {
        let parameters = parameterCount * MemoryLayout<Scalar>.size
        return namedModules().reduce(parameters) { $0 + (($1.module as? any QuantizedWeightLayer)?.quantizedWeightBytes ?? 0) }
    }
}
