import Foundation
import LoRAKit

/// Where `lora svd-table` takes its matrix from (``MatrixSourceOptions``).
enum MatrixSource {
    /// `rows×columns` i.i.d. `N(0, scale²)` entries from a seeded generator.
    case gaussian(MatrixShape, scale: Double, seed: UInt64)
    /// A 2-D float32/float64 array written by `numpy.save` (C or Fortran order).
    case npy(path: String)
    /// A 2-D tensor of a safetensors file.
    case safetensors(path: String, tensor: String)

    /// The matrix, in Double.
    func load() throws -> Matrix<Double> {
        switch self {
        case let .gaussian(shape, scale, seed):
            var generator = SeededGenerator(seed: seed)
            return .randomNormal(rows: shape.rows, columns: shape.columns, standardDeviation: scale, using: &generator)
        case let .npy(path):
            let url = URL(fileURLWithPath: path)
            let shape = try NPY.info(url).shape
            guard shape.count == 2 else { throw MatrixSourceError.notTwoDimensional(file: path, tensor: nil, shape: shape) }
            return try NPY.readMatrix(url, as: Double.self)
        case let .safetensors(path, tensor):
            let file = try SafetensorsFile(contentsOf: URL(fileURLWithPath: path))
            let shape = try file.info(tensor).shape
            guard shape.count == 2 else { throw MatrixSourceError.notTwoDimensional(file: path, tensor: tensor, shape: shape) }
            return try file.matrix(tensor, as: Double.self)
        }
    }

    /// For the table's heading, e.g. `Gaussian 512×512, scale 0.01, seed 42`.
    func describe(_ matrix: Matrix<Double>) -> String {
        switch self {
        case let .gaussian(_, scale, seed): "Gaussian \(matrix.shapeDescription), scale \(scale), seed \(seed)"
        case let .npy(path): "\(path) (\(matrix.shapeDescription))"
        case let .safetensors(path, tensor): "\(path): \(tensor) (\(matrix.shapeDescription))"
        }
    }

    /// Whether the quarter-circle law applies: a square Gaussian matrix.
    var isSquareGaussian: Bool {
        if case let .gaussian(shape, _, _) = self { shape.rows == shape.columns } else { false }
    }
}

/// A source that is a tensor file but not a matrix.
enum MatrixSourceError: Error, CustomStringConvertible {
    case notTwoDimensional(file: String, tensor: String?, shape: [Int])

    var description: String {
        switch self {
        case let .notTwoDimensional(file, tensor, shape):
            "\(file): \(tensor.map { "tensor \"\($0)\": " } ?? "")shape \(shape) is not 2-D: svd-table needs a matrix"
        }
    }
}
