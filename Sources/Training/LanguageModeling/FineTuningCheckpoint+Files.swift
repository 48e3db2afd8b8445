import Foundation
import LinearAlgebra
import Optimizers
import TensorFormats

/// A checkpoint that cannot be read or written, naming the file and what was wrong.
public enum CheckpointError: Error, Equatable, Sendable, CustomStringConvertible {
    case unreadable(file: String, reason: String)
    case unwritable(file: String, reason: String)
    case malformed(file: String, reason: String)

    public var description: String {
        switch self {
        case let .unreadable(file, reason): "\(file): cannot read the checkpoint: \(reason)"
        case let .unwritable(file, reason): "\(file): cannot write the checkpoint: \(reason)"
        case let .malformed(file, reason): "\(file): not a LoRAKit checkpoint: \(reason)"
        }
    }
}

/// The JSON half of a checkpoint directory (`checkpoint.json`); the tensors are in
/// `checkpoint.safetensors`.
private struct CheckpointManifest: Codable {
    static let currentFormat = "lorakit-finetuning-checkpoint-1"
    var format = currentFormat
    var step: Int
    var losses: [Double]
    var evaluations: [String: Double]
    var options: FineTuningOptions
    var optimizerSteps: Int
    var parameterPaths: [String]
    var momentCount: Int
}

extension FineTuningCheckpoint where Scalar: TensorScalar {
    static var manifestName: String { "checkpoint.json" }
    static var tensorsName: String { "checkpoint.safetensors" }

    /// Writes the checkpoint into directory `url`, replacing what is there only once the new one
    /// is complete (written beside it, then renamed into place), so an interrupted write leaves
    /// the previous checkpoint intact.
    public func write(to url: URL) throws(CheckpointError) {
        let manager = FileManager.default
        let parent = url.deletingLastPathComponent()
        let staging = parent.appendingPathComponent(".\(url.lastPathComponent).partial-\(getpid())")
        let previous = parent.appendingPathComponent(".\(url.lastPathComponent).previous-\(getpid())")
        let dtype: TensorDType = Scalar.self == Double.self ? .float64 : .float32
        var writer = SafetensorsWriter(metadata: ["format": "lorakit"])
        let paths = parameters.keys.sorted()
        for path in paths { writer.add("parameter.\(path)", matrix: parameters[path]!, as: dtype) }
        for (i, (m, v)) in zip(optimizer.firstMoments, optimizer.secondMoments).enumerated() {
            writer.add("optimizer.m.\(i)", matrix: m, as: dtype)
            writer.add("optimizer.v.\(i)", matrix: v, as: dtype)
        }
        let manifest = CheckpointManifest(
            step: step, losses: losses, evaluations: Dictionary(uniqueKeysWithValues: evaluations.map { ("\($0)", $1) }),
            options: options, optimizerSteps: optimizer.stepCount, parameterPaths: paths,
            momentCount: optimizer.firstMoments.count)
        do {
            try? manager.removeItem(at: staging)
            try manager.createDirectory(at: parent, withIntermediateDirectories: true)
            try manager.createDirectory(at: staging, withIntermediateDirectories: false)
            try writer.encoded().write(to: staging.appendingPathComponent(Self.tensorsName))
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(manifest).write(to: staging.appendingPathComponent(Self.manifestName))
            let replacing = manager.fileExists(atPath: url.path)
            if replacing { try manager.moveItem(at: url, to: previous) }
            try manager.moveItem(at: staging, to: url)
            if replacing { try? manager.removeItem(at: previous) }
        } catch {
            try? manager.removeItem(at: staging)
            throw .unwritable(file: url.path, reason: (error as NSError).localizedFailureReason ?? "\(error)")
        }
    }

    /// Reads a checkpoint directory written by ``write(to:)``.
    public static func read(from url: URL) throws(CheckpointError) -> FineTuningCheckpoint {
        let manifestURL = url.appendingPathComponent(manifestName), tensorsURL = url.appendingPathComponent(tensorsName)
        let manifest: CheckpointManifest
        do {
            manifest = try JSONDecoder().decode(CheckpointManifest.self, from: Data(contentsOf: manifestURL))
        } catch let error as DecodingError {
            throw .malformed(file: manifestURL.path, reason: "\(error)".prefix(200).description)
        } catch {
            throw .unreadable(file: manifestURL.path, reason: "no such file or not readable")
        }
        guard manifest.format == CheckpointManifest.currentFormat, manifest.losses.count == manifest.step
        else { throw .malformed(file: manifestURL.path, reason: "format \(manifest.format), step \(manifest.step), \(manifest.losses.count) losses") }
        do {
            let file = try SafetensorsFile(contentsOf: tensorsURL)
            func matrix(_ name: String) throws -> Matrix<Scalar> {
                let shape = try file.matrixShape(name)
                return Matrix(rows: shape.rows, columns: shape.columns, elements: try file.elements(name, as: Scalar.self))
            }
            var parameters: [String: Matrix<Scalar>] = [:]
            for path in manifest.parameterPaths { parameters[path] = try matrix("parameter.\(path)") }
            let m = try (0..<manifest.momentCount).map { try matrix("optimizer.m.\($0)") }
            let v = try (0..<manifest.momentCount).map { try matrix("optimizer.v.\($0)") }
            var evaluations: [Int: Double] = [:]
            for (key, value) in manifest.evaluations {
                guard let step = Int(key) else { throw CheckpointError.malformed(file: manifestURL.path, reason: "evaluation step '\(key)'") }
                evaluations[step] = value
            }
            return FineTuningCheckpoint(
                step: manifest.step, parameters: parameters,
                optimizer: AdamState(stepCount: manifest.optimizerSteps, firstMoments: m, secondMoments: v),
                losses: manifest.losses, evaluations: evaluations, options: manifest.options)
        } catch let error as CheckpointError {
            throw error
        } catch {
            throw .malformed(file: tensorsURL.path, reason: "\(error)")
        }
    }
}

extension SafetensorsWriter {
    /// Adds `matrix` with shape `[m, n]`.
    fileprivate mutating func add<T: MatrixScalar & TensorScalar>(_ name: String, matrix: Matrix<T>, as dtype: TensorDType) {
        add(name, elements: matrix.elements, shape: [matrix.rows, matrix.columns], as: dtype)
    }
}
