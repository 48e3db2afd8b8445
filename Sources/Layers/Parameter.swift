import LinearAlgebra

/// A tensor of a module (a weight, a bias, a gain) with its gradient and a trainable flag.
///
/// The value is a ``Matrix`` (`out×in` for a weight, `1×n` for a vector). Usually the parameter
/// owns it; a layer whose weights live in another value (LoRA's `LoRAWeights`) can expose them
/// through accessors instead, so there is one copy of every weight. A gradient buffer of the
/// value's shape exists exactly while the parameter is trainable: frozen parameters cost no
/// gradient memory and no optimizer state.
public final class Parameter<Scalar: MatrixScalar> {
    private var ownedValue: Matrix<Scalar>
    private let externalValue: (() -> Matrix<Scalar>)?
    private let modifyExternal: ((_ body: (inout Matrix<Scalar>) -> Void) -> Void)?

    /// `∂L/∂value`, accumulated by backward passes; `nil` while frozen.
    public private(set) var gradient: Matrix<Scalar>?

    /// A parameter that owns `value`, trainable unless `trainable` is false.
    public init(_ value: Matrix<Scalar>, trainable: Bool = true) {
        ownedValue = value
        externalValue = nil
        modifyExternal = nil
        if trainable { gradient = .zeros(value.rows, value.columns) }
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
        if trainable {
            let value = get()
            gradient = .zeros(value.rows, value.columns)
        }
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

    /// Whether optimizers update this parameter. Turning it on allocates a zero gradient of the
    /// value's shape; turning it off releases the gradient.
    public var isTrainable: Bool {
        get { gradient != nil }
        set {
            guard newValue != isTrainable else { return }
            precondition(!newValue || isWritable, "Parameter: a read-only parameter cannot be trainable")
            let shape = value.shape
            gradient = newValue ? .zeros(shape.rows, shape.columns) : nil
        }
    }

    /// Number of scalars in the value.
    public var count: Int { value.count }

    /// Changes the gradient in place (backward passes accumulate into it); the parameter must
    /// be trainable.
    public func modifyGradient(_ body: (inout Matrix<Scalar>) -> Void) {
        precondition(gradient != nil, "Parameter: the gradient of a frozen parameter was requested")
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
