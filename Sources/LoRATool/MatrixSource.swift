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

    /// The matrix's shape, from the file's header alone where there is a file; throws unless it is 2-D.
    func shape() throws -> MatrixShape {
        let (file, tensor, shape): (String, String?, [Int])
        switch self {
        case let .gaussian(shape, _, _): return shape
        case let .npy(path): (file, tensor, shape) = (path, nil, try NPY.info(URL(fileURLWithPath: path)).shape)
        case let .safetensors(path, name):
            (file, tensor, shape) = (path, name, try SafetensorsFile(contentsOf: URL(fileURLWithPath: path)).info(name).shape)
        }
        guard shape.count == 2 else { throw MatrixSourceError.notTwoDimensional(file: file, tensor: tensor, shape: shape) }
        return MatrixShape(rows: shape[0], columns: shape[1])
    }

    /// The matrix, in Double; ``shape()`` first checks it is one.
    func load() throws -> Matrix<Double> {
        _ = try shape()
        switch self {
        case let .gaussian(shape, scale, seed):
            var generator = SeededGenerator(seed: seed)
            return .randomNormal(rows: shape.rows, columns: shape.columns, standardDeviation: scale, using: &generator)
        case let .npy(path):
            return try NPY.readMatrix(URL(fileURLWithPath: path), as: Double.self)
        case let .safetensors(path, tensor):
            return try SafetensorsFile(contentsOf: URL(fileURLWithPath: path)).matrix(tensor, as: Double.self)
        }
    }

    /// The input files, as the flags named them.
    var inputs: [CommandPath] {
        switch self {
        case .gaussian: []
        case let .npy(path): [CommandPath(flag: "--npy", path: path)]
        case let .safetensors(path, _): [CommandPath(flag: "--safetensors", path: path)]
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
