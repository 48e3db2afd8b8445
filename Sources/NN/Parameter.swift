import LinearAlgebra

/// A tensor of a module (a weight, a bias, a gain) with its gradient and a trainable flag.
///
/// The value is a ``Matrix`` (`out×in` for a weight, `1×n` for a vector). Usually the parameter
/// owns it; a layer whose weights live in another value (LoRA's `LoRAWeights`) can expose them
/// through accessors instead, so there is one copy of every weight. A gradient buffer of the
/// value's shape is allocated by the first backward pass that reaches a trainable parameter and
/// released when it is frozen: frozen parameters cost no gradient memory and no optimizer state.
public final class Parameter<Scalar: MatrixScalar> {
    private var ownedValue: Matrix<Scalar>
    private let externalValue: (() -> Matrix<Scalar>)?
    private let modifyExternal: ((_ body: (inout Matrix<Scalar>) -> Void) -> Void)?

    /// `∂L/∂value`, accumulated by backward passes; `nil` while frozen or before the first one.
    public private(set) var gradient: Matrix<Scalar>?

    /// Whether optimizers update this parameter. Freezing releases the gradient.
    public var isTrainable: Bool {
        didSet {
            precondition(!isTrainable || isWritable, "Parameter: a read-only parameter cannot be trainable")
            if !isTrainable { gradient = nil }
        }
    }

    /// A parameter that owns `value`, trainable unless `trainable` is false.
    public init(_ value: Matrix<Scalar>, trainable: Bool = true) {
        ownedValue = value
        externalValue = nil
        modifyExternal = nil
        isTrainable = trainable
    }

    /// A parameter whose value lives elsewhere: `get` reads it, `modify` (if any) changes it in
    /// place. Without `modify` the parameter is read-only and can never be trainable.
    public init(
        get: @escaping () -> Matrix<Scalar>,
        modify: ((_ body: (inout Matrix<Scalar>) -> Void) -> Void)?,
        trainable: Bool
    ) {
        precondition(!trainable || modify != nil, "Parameter: a read-only parameter cannot be trainable")
        ownedValue = .zeros(0, 0)
        externalValue = get
        modifyExternal = modify
        isTrainable = trainable
    }

    /// A parameter on this one's value (reads and writes go to it) with its own gradient and the
    /// same trainable flag: what a module replica (``Module/replica()``) holds, so replicas on
    /// other threads accumulate their own gradients while sharing every weight.
    public func replica() -> Parameter {
        Parameter(get: { self.value }, modify: isWritable ? { body in self.modifyValue(body) } : nil, trainable: isTrainable)
    }

    /// The current value.
    public var value: Matrix<Scalar> {
        get { externalValue?() ?? ownedValue }
        set { modifyValue { $0 = newValue } }
    }

    /// Whether the value can change (read-only parameters are frozen for good).
    public var isWritable: Bool { externalValue == nil || modifyExternal != nil }

    /// Changes the value in place (no copy when the storage is uniquely referenced).
    public func modifyValue(_ body: (inout Matrix<Scalar>) -> Void) {
        if let modifyExternal {
            modifyExternal(body)
        } else {
            precondition(externalValue == nil, "Parameter: the value is read-only")
            body(&ownedValue)
        }
    }

    /// Number of scalars in the value.
    public var count: Int { value.count }

    /// Changes the gradient in place (backward passes accumulate into it), allocating it as
    /// zeros the first time; the parameter must be trainable.
    public func modifyGradient(_ body: (inout Matrix<Scalar>) -> Void) {
        precondition(isTrainable, "Parameter: the gradient of a frozen parameter was requested")
        if gradient == nil {
            let shape = value.shape
            gradient = .zeros(shape.rows, shape.columns)
        }
        body(&gradient!)
    }

    /// Sets the gradient to zero (no-op when frozen).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func zeroGradient() {
        guard gradient != nil else { return }
        gradient!.withUnsafeMutableBufferPointer { buffer in
            buffer.update(repeating: 0)
        }
    }
}
