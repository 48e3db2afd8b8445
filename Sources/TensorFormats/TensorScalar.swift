/// An element type tensor files convert to and from: `Float` or `Double`.
///
/// Conversions narrow with one rounding (nearest, ties to even); other conformances are not
/// supported and trap.
public protocol TensorScalar: BinaryFloatingPoint, Sendable {}

extension Float: TensorScalar {}
extension Double: TensorScalar {}
