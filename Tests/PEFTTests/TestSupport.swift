import CommandTestSupport
import Foundation
import LinearAlgebra
import LoRA
import PEFT
import TensorFormats

/// The committed PEFT fixture `name` (written by scripts/fixtures/make_peft_fixtures.py).
func peftFixture(_ name: String) -> URL {
    Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent("peft").appendingPathComponent(name)
}

/// A fresh empty directory; the caller removes it.
func temporaryDirectory() throws -> URL { try makeTemporaryDirectory(prefix: "PEFTAdapterTests") }

/// A safetensors file image holding `tensors` (name → matrix) as `dtype`.
func safetensorsFile<T: MatrixScalar>(_ tensors: [String: Matrix<T>], dtype: TensorDType, path: String) throws -> SafetensorsFile {
    var writer = SafetensorsWriter()
    for (name, matrix) in tensors { writer.add(name, matrix, as: dtype) }
    return try SafetensorsFile(data: writer.encoded(), path: path)
}

/// Naive `W + s·B·A` with a triple loop in `Double`.
func naiveMerge(_ w: Matrix<Double>, _ b: Matrix<Double>, _ a: Matrix<Double>, scale: Double) -> Matrix<Double> {
    Matrix(rows: w.rows, columns: w.columns) { i, j in
        var sum = 0.0
        for p in 0..<a.rows { sum += b[i, p] * a[p, j] }
        return w[i, j] + scale * sum
    }
}

/// The committed PEFT-variant fixture at `path` (written by scripts/fixtures/make_peft_variant_fixtures.py).
func variantFixture(_ path: String) -> URL {
    Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent("peft_variants").appendingPathComponent(path)
}

/// Tensor `name` of `file` as a matrix (`[n]` → n×1).
func tensor<T: MatrixScalar>(_ file: SafetensorsFile, _ name: String, as _: T.Type = T.self) throws -> Matrix<T> {
    try file.matrix(name, as: T.self)
}

/// `max |xᵢⱼ − yᵢⱼ|` in `Double`.
func maxAbsoluteError<T: MatrixScalar, U: MatrixScalar>(_ x: Matrix<T>, _ y: Matrix<U>) -> Double {
    x.converted(to: Double.self).maxAbsoluteDifference(y.converted(to: Double.self))
}
