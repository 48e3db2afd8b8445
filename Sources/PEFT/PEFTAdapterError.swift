import LoRA
import TensorFormats

/// A PEFT adapter directory, or an adapter/base pair, that cannot be used; names the file, the
/// tensor key and the shapes involved.
public enum PEFTAdapterError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A tensor file is malformed or unreadable.
    case tensorFile(TensorFileError)
    /// `adapter_config.json` is malformed, unreadable or invalid.
    case configuration(LoRAConfigurationError)
    /// The path is not a directory holding an `adapter_config.json` (`reason` says what it is).
    case notAnAdapterDirectory(path: String, reason: String)
    /// The directory has no `adapter_model.safetensors` (`reason` says what is there instead).
    case missingAdapterFile(directory: String, reason: String)
    /// A tensor the adapter or the base needs is absent.
    case missingTensor(file: String, key: String)
    /// Two tensors that must fit together do not; both shapes are named.
    case shapeMismatch(file: String, key: String, shape: String, otherKey: String, otherShape: String)
    /// A module's `lora_A` rank differs from the rank the configuration gives it.
    case rankMismatch(file: String, module: String, configured: Int, stored: Int)
    /// A module has a DoRA magnitude while `use_dora` is false, or none while it is true.
    case doraMismatch(file: String, module: String, useDoRA: Bool)
    /// Adapters that must adapt the same modules do not: `module` is in one and not the other.
    case moduleSetMismatch(module: String, presentIn: String, missingFrom: String)
    /// A conversion of adapters that LoRAKit refuses, as PEFT does (`reason` names the setting).
    case unsupportedForConversion(reason: String)
    /// An output path resolves to one of the inputs (same device and inode).
    case outputIsInput(output: String, input: String)
    /// Adapters that cannot be combined or resized as asked (`reason` names the setting or module).
    case unsupportedForCombination(reason: String)
    /// The adapters' weight list does not have one weight per adapter.
    case weightCountMismatch(adapters: Int, weights: Int)
    /// Adapters trained on different base models (`base_model_name_or_path`).
    case differentBases(first: String, other: String)
    /// A requested rank exceeds the rank the module's (combined) factors have.
    case rankAboveAvailable(module: String, rank: Int, available: Int)
    /// An argument (`name`) holds `value`, which is not `expected`.
    case invalidArgument(name: String, value: String, expected: String)
    /// A weight LoRAKit must do arithmetic on is not F16, BF16, F32 or F64.
    case unsupportedDType(file: String, key: String, dtype: String)
    /// The adapter's configuration sets `key`, which changes the merged weights in a way LoRAKit
    /// does not apply.
    case unsupportedForMerge(key: String, value: String)
    /// No 2-D floating-point weight differs between the two checkpoints (within the targets).
    case nothingToExtract(base: String, tuned: String)
    /// The SVD of a module's `ΔW` failed (e.g. `ΔW` holds NaN or ∞).
    case decompositionFailed(module: String, reason: String)
    /// An output file or directory could not be written.
    case writeFailed(path: String, reason: String)
    /// A tensor (or the update built from it) holds NaN or ±∞.
    case nonFinite(file: String, key: String)
    /// A merged weight `W + x·s·B·A` has an entry beyond the largest finite value of `dtype`.
    case mergeOverflow(key: String, dtype: String)
    /// A module's factors `B = U_r·Σ_r^½`, `A = Σ_r^½·V_rᵀ` have entries beyond the range of `dtype`.
    case factorOverflow(module: String, dtype: String)
    /// The requested rank exceeds what the module's `d×k` weight can have, `min(d, k)`.
    case rankTooLarge(module: String, rank: Int, shape: String)
    /// The adapter names a module the model does not have (an adapter for another model);
    /// `example` is a module of the model with the same local name, if any.
    case moduleNotInModel(file: String, module: String, example: String?)
    /// The adapter names a module that is not a linear layer an adapter can wrap.
    case notALinearModule(file: String, module: String, type: String)
    /// A named adapter could not be loaded under its name.
    case namedAdapter(NamedAdapterError)

    public var description: String {
        switch self {
        case let .tensorFile(error): error.description
        case let .configuration(error): error.description
        case let .notAnAdapterDirectory(path, reason): "\(path): not a PEFT adapter directory: \(reason)"
        case let .missingAdapterFile(directory, reason): "\(directory): no adapter_model.safetensors: \(reason)"
        case let .missingTensor(file, key): "\(file): missing tensor \"\(key)\""
        case let .shapeMismatch(file, key, shape, otherKey, otherShape):
            "\(file): \"\(key)\" has shape \(shape), which does not fit \"\(otherKey)\" of shape \(otherShape)"
        case let .rankMismatch(file, module, configured, stored):
            "\(file): module \"\(module)\" has rank \(stored), the configuration gives rank \(configured)"
        case let .doraMismatch(file, module, useDoRA):
            useDoRA
                ? "\(file): use_dora is true, but module \"\(module)\" has no lora_magnitude_vector"
                : "\(file): module \"\(module)\" has a DoRA magnitude, but use_dora is false"
        case let .moduleSetMismatch(module, presentIn, missingFrom):
            "module \"\(module)\" is adapted by \(presentIn) but not by \(missingFrom)"
        case let .unsupportedForConversion(reason):
            "cannot convert an adapter with \(reason)"
        case let .outputIsInput(output, input):
            "\(output): is the input \(input); refusing to overwrite an input"
        case let .unsupportedForCombination(reason):
            "cannot combine or resize: \(reason)"
        case let .weightCountMismatch(adapters, weights):
            "\(weights) weights for \(adapters) adapters; give one weight per adapter"
        case let .differentBases(first, other):
            "the adapters were trained on different base models: \"\(first)\" and \"\(other)\""
        case let .rankAboveAvailable(module, rank, available):
            "module \"\(module)\": rank \(rank) exceeds the rank \(available) of its factors"
        case let .invalidArgument(name, value, expected):
            "\(name) is \(value), expected \(expected)"
        case let .unsupportedDType(file, key, dtype):
            "\(file): \"\(key)\" has dtype \(dtype); LoRAKit computes with F16, BF16, F32 and F64 only"
        case let .unsupportedForMerge(key, value):
            "adapter_config.json sets \"\(key)\" to \(value), which LoRAKit cannot merge; refusing rather than writing a wrong model"
        case let .nothingToExtract(base, tuned): "\(tuned): no 2-D weight differs from \(base)"
        case let .decompositionFailed(module, reason): "module \"\(module)\": the SVD of ΔW failed: \(reason)"
        case let .writeFailed(path, reason): "\(path): \(reason)"
        case let .nonFinite(file, key): "\(file): tensor \"\(key)\" holds NaN or infinity"
        case let .mergeOverflow(key, dtype):
            "\"\(key)\": W + x·s·B·A has entries beyond the range of \(dtype), so the merged weight would hold infinities"
        case let .factorOverflow(module, dtype):
            "module \"\(module)\": the factors have entries beyond the range of \(dtype), so the adapter would hold infinities"
        case let .rankTooLarge(module, rank, shape):
            "module \"\(module)\": rank \(rank) exceeds min(d, k) of its \(shape) weight"
        case let .moduleNotInModel(file, module, example):
            "\(file): module \"\(module)\" is not in the model" + (example.map { " (it has e.g. \"\($0)\"); the adapter was saved for another model" } ?? "; the adapter was saved for another model")
        case let .notALinearModule(file, module, type):
            "\(file): module \"\(module)\" is a \(type), not a linear layer LoRA can wrap"
        case let .namedAdapter(error): error.description
        }
    }
}
