import FileSafety
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

/// The JSON half of a checkpoint directory (`checkpoint.json`). It names the tensors file
/// (`checkpoint-<step>.safetensors`) it belongs to, so renaming the manifest into place is the one
/// step that switches from the previous checkpoint to the new one.
private struct CheckpointManifest: Codable {
    static let currentFormat = "lorakit-finetuning-checkpoint-2"
    /// Format 1 kept its tensors in a fixed `checkpoint.safetensors` and named no file.
    static let formats = ["lorakit-finetuning-checkpoint-1", currentFormat]
    var format = currentFormat
    var tensors: String?
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
    static func tensorsName(step: Int) -> String { "checkpoint-\(step).safetensors" }

    /// Writes the checkpoint into directory `url` (created, with its parent, if missing). The new tensors file and
    /// then the manifest that names it are staged and renamed into place (``StagedFiles``), so an
    /// interrupted or failed write leaves the previous checkpoint whole and no temporary behind;
    /// the previous tensors file is removed once the new manifest is in place.
    public func write(to url: URL) throws(CheckpointError) {
        let dtype: TensorDType = Scalar.self == Double.self ? .float64 : .float32
        var writer = SafetensorsWriter(metadata: ["format": "lorakit"])
        let paths = parameters.keys.sorted()
        for path in paths { writer.add("parameter.\(path)", matrix: parameters[path]!, as: dtype) }
        for (i, (m, v)) in zip(optimizer.firstMoments, optimizer.secondMoments).enumerated() {
            writer.add("optimizer.m.\(i)", matrix: m, as: dtype)
            writer.add("optimizer.v.\(i)", matrix: v, as: dtype)
        }
        let tensors = Self.tensorsName(step: step)
        let manifest = CheckpointManifest(
            tensors: tensors, step: step, losses: losses,
            evaluations: Dictionary(uniqueKeysWithValues: evaluations.map { ("\($0)", $1) }),
            options: options, optimizerSteps: optimizer.stepCount, parameterPaths: paths,
            momentCount: optimizer.firstMoments.count)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let files = StagedFiles()
        do {
            try files.createDirectory(url.deletingLastPathComponent())
            try files.createDirectory(url)
            try files.stage(url.appendingPathComponent(tensors), data: try writer.encoded())
            try files.stage(url.appendingPathComponent(Self.manifestName), data: try encoder.encode(manifest))
            try files.commit()
        } catch let error as FileSystemError {
            throw .unwritable(file: url.path, reason: error.reason)
        } catch {
            throw .unwritable(file: url.path, reason: "\(error)")
        }
        let stale = ((try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? [])
            .filter { $0.hasPrefix("checkpoint") && $0.hasSuffix(".safetensors") && $0 != tensors }
        stale.forEach { try? FileManager.default.removeItem(at: url.appendingPathComponent($0)) }
    }

    /// Reads a checkpoint directory written by ``write(to:)``.
    public static func read(from url: URL) throws(CheckpointError) -> FineTuningCheckpoint {
        let manifestURL = url.appendingPathComponent(manifestName)
        let manifest: CheckpointManifest
        do {
            manifest = try JSONDecoder().decode(CheckpointManifest.self, from: Data(contentsOf: manifestURL))
        } catch let error as DecodingError {
            throw .malformed(file: manifestURL.path, reason: "\(error)".prefix(200).description)
        } catch {
            throw .unreadable(file: manifestURL.path, reason: "no such file or not readable")
        }
        guard CheckpointManifest.formats.contains(manifest.format), manifest.losses.count == manifest.step,
              manifest.tensors.map({ !$0.contains("/") }) ?? true
        else { throw .malformed(file: manifestURL.path, reason: "format \(manifest.format), step \(manifest.step), \(manifest.losses.count) losses") }
        let tensorsURL = url.appendingPathComponent(manifest.tensors ?? "checkpoint.safetensors")
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
