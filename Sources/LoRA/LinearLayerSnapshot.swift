import NN
import LinearAlgebra

/// A model's adaptable linear layers and the trainability of its parameters as they were when
/// taken (``Module/linearLayerSnapshot()``): ``Module/restore(_:)`` puts them back, which removes
/// the adapters ``Module/injectLoRA(_:using:)`` wrapped them in since, without merging them, as
/// PEFT's `unload()` does. The base weights are shared with the model, not copied.
public struct LinearLayerSnapshot<Scalar: MatrixScalar> {
    fileprivate let layers: [(container: any LinearLayerContainer<Scalar>, name: String, linear: any LinearLayer<Scalar>)]
    fileprivate let trainable: [(parameter: Parameter<Scalar>, isTrainable: Bool)]
}

extension Module {
    /// The layers LoRA can wrap and which parameters train, to put back with ``restore(_:)``.
    public func linearLayerSnapshot() -> LinearLayerSnapshot<Scalar> {
        LinearLayerSnapshot(
            layers: adaptableLinearLayers().map { ($0.container, $0.name, $0.linear) },
            trainable: namedParameters().map { ($0.parameter, $0.parameter.isTrainable) })
    }

    /// Puts back the layers and trainability of `snapshot`, taken from this model.
    public func restore(_ snapshot: LinearLayerSnapshot<Scalar>) {
        for (container, name, linear) in snapshot.layers { container.replaceLinearLayer(named: name, with: linear) }
        for (parameter, isTrainable) in snapshot.trainable { parameter.isTrainable = isTrainable }
    }
}
