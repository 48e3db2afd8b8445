import Foundation
import LinearAlgebra
import LoRA
import TensorFormats

extension PEFTAdapter {
    /// The configuration file in an adapter directory.
    public static var configurationFileName: String { "adapter_config.json" }
    /// The weights file in an adapter directory.
    public static var weightsFileName: String { "adapter_model.safetensors" }

    /// Reads a PEFT adapter directory: `adapter_config.json` and `adapter_model.safetensors`.
    ///
    /// Every module needs both `lora_A [r, in]` and `lora_B [out, r]` with matching `r`, equal to
    /// the configuration's rank for that module, and with `use_dora` its `lora_magnitude_vector
    /// [out]`. Keys that are not adapter tensors (biases, `modules_to_save`), magnitudes without
    /// `use_dora`, and modules the configuration does not target are skipped with a warning.
    public static func read(from directory: URL) throws(PEFTAdapterError) -> (adapter: PEFTAdapter, warnings: [String]) {
        let configuration: LoRAConfiguration
        var warnings: [String]
        do {
            (configuration, warnings) = try LoRAConfiguration.read(from: directory.appendingPathComponent(configurationFileName))
        } catch {
            throw .configuration(error)
        }
        let weightsURL = directory.appendingPathComponent(weightsFileName)
        guard FileManager.default.fileExists(atPath: weightsURL.path) else {
            let pickle = FileManager.default.fileExists(atPath: directory.appendingPathComponent("adapter_model.bin").path)
            throw .missingAdapterFile(directory: directory.path, reason: pickle
                ? "only adapter_model.bin (pickle), which LoRAKit does not read; re-save with safe_serialization=True"
                : "the file does not exist")
        }
        let file: SafetensorsFile
        do { file = try SafetensorsFile(contentsOf: weightsURL) } catch { throw .tensorFile(error) }

        var keysByModule: [String: [Character: String]] = [:]
        for key in file.tensorNames {
            if let (path, factor) = PEFTKeys.parse(key) {
                keysByModule[path, default: [:]][factor] = key
            } else {
                warnings.append("\(file.path): \"\(key)\" is not a LoRA factor; LoRAKit ignores it")
            }
        }
        var modules: [String: Factors] = [:]
        for (path, keys) in keysByModule.sorted(by: { $0.key < $1.key }) {
            guard let aKey = keys["A"] else { throw .missingTensor(file: file.path, key: PEFTKeys.loraA(path)) }
            guard let bKey = keys["B"] else { throw .missingTensor(file: file.path, key: PEFTKeys.loraB(path)) }
            let aInfo: TensorInfo, bInfo: TensorInfo
            do { (aInfo, bInfo) = (try file.info(aKey), try file.info(bKey)) } catch { throw .tensorFile(error) }
            guard aInfo.shape.count == 2, bInfo.shape.count == 2, aInfo.shape[0] == bInfo.shape[1] else {
                throw .shapeMismatch(file: file.path, key: aKey, shape: aInfo.shapeDescription, otherKey: bKey, otherShape: bInfo.shapeDescription)
            }
            let a = try floatMatrix(aKey, in: file)
            let b = try floatMatrix(bKey, in: file)
            let configured = configuration.rank(forModule: path)
            guard configured == a.rows else {
                throw .rankMismatch(file: file.path, module: path, configured: configured, stored: a.rows)
            }
            if !configuration.targets(path) {
                warnings.append("\(file.path): module \"\(path)\" is not in target_modules")
            }
            modules[path] = Factors(a: a, b: b, magnitude: try magnitude(
                of: path, key: keys["m"], bKey: bKey, b: bInfo, in: file, configuration: configuration, warnings: &warnings))
        }
        return (PEFTAdapter(configuration: configuration, modules: modules), warnings)
    }

    /// Writes `adapter_config.json` and `adapter_model.safetensors` (factors as `dtype`, metadata
    /// `{"format": "pt"}`) into `directory`, creating it if needed. Each module's rank must equal
    /// the configuration's rank for it, and each has a magnitude exactly when `use_dora` is set.
    /// On failure no file written here is left behind. `inputs` (the files or directories the
    /// adapter was made from) must not resolve to `directory` (same device and inode).
    public func write(to directory: URL, dtype: TensorDType = .float32, inputs: [URL] = []) throws(PEFTAdapterError) {
        try OutputPath.requireDistinct(directory, from: inputs)
        for (path, factors) in modules.sorted(by: { $0.key < $1.key }) {
            let configured = configuration.rank(forModule: path)
            guard configured == factors.rank else {
                throw .rankMismatch(file: directory.path, module: path, configured: configured, stored: factors.rank)
            }
            guard (factors.magnitude != nil) == configuration.useDoRA else {
                throw .doraMismatch(file: directory.path, module: path, useDoRA: configuration.useDoRA)
            }
        }
        var writer = SafetensorsWriter(metadata: ["format": "pt"])
        for (path, factors) in modules {
            writer.add(PEFTKeys.loraA(path), factors.a, as: dtype)
            writer.add(PEFTKeys.loraB(path), factors.b, as: dtype)
            if let magnitude = factors.magnitude {
                writer.add(PEFTKeys.magnitude(path), magnitude, as: dtype, shape: [magnitude.count])
            }
        }
        let manager = FileManager.default
        let createdDirectory = !manager.fileExists(atPath: directory.path)
        do {
            try manager.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw .writeFailed(path: directory.path, reason: "cannot create the directory: \(error.localizedDescription)")
        }
        // Both files are written into a staging folder first and renamed into place only when both
        // succeeded, so a failure leaves an existing adapter in the directory untouched.
        let staging = directory.appendingPathComponent(".lorakit-staging-\(UUID().uuidString)")
        defer { try? manager.removeItem(at: staging) }
        do {
            try manager.createDirectory(at: staging, withIntermediateDirectories: false)
            try writer.write(to: staging.appendingPathComponent(Self.weightsFileName))
            try configuration.write(to: staging.appendingPathComponent(Self.configurationFileName))
            for name in [Self.weightsFileName, Self.configurationFileName] {
                guard rename(staging.appendingPathComponent(name).path, directory.appendingPathComponent(name).path) == 0 else {
                    throw PEFTAdapterError.writeFailed(path: directory.appendingPathComponent(name).path,
                                                       reason: String(cString: strerror(errno)))
                }
            }
        } catch {
            if createdDirectory { try? manager.removeItem(at: directory) }
            switch error {
            case let error as TensorFileError: throw .tensorFile(error)
            case let error as LoRAConfigurationError: throw .configuration(error)
            case let error as PEFTAdapterError: throw error
            default: throw .writeFailed(path: directory.path, reason: error.localizedDescription)
            }
        }
    }

    /// DoRA's `m: 1×out` of module `path` from `key` (shape `[out]`, `out` from `lora_B`), when
    /// `use_dora` is set; a magnitude without it is skipped with a warning.
    private static func magnitude(
        of path: String, key: String?, bKey: String, b: TensorInfo, in file: SafetensorsFile,
        configuration: LoRAConfiguration, warnings: inout [String]
    ) throws(PEFTAdapterError) -> Matrix<Scalar>? {
        guard let key else {
            if configuration.useDoRA { throw .missingTensor(file: file.path, key: PEFTKeys.magnitude(path)) }
            return nil
        }
        guard configuration.useDoRA else {
            warnings.append("\(file.path): \"\(key)\" is a DoRA magnitude, but use_dora is not set; LoRAKit ignores it")
            return nil
        }
        let info: TensorInfo
        do { info = try file.info(key) } catch { throw .tensorFile(error) }
        guard info.shape == [b.shape[0]] else {
            throw .shapeMismatch(file: file.path, key: key, shape: info.shapeDescription, otherKey: bKey, otherShape: b.shapeDescription)
        }
        let column = try floatMatrix(key, in: file)
        return Matrix(rows: 1, columns: column.count, elements: column.elements)
    }

    private static func floatMatrix(_ key: String, in file: SafetensorsFile) throws(PEFTAdapterError) -> Matrix<Scalar> {
        do {
            return try file.matrix(key, as: Scalar.self)
        } catch let .unsupportedDType(path, tensor, dtype) {
            throw .unsupportedDType(file: path, key: tensor, dtype: dtype)
        } catch {
            throw .tensorFile(error)
        }
    }
}
