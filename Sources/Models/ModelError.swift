import TensorFormats

/// A model file, configuration or input that cannot be used, naming the file and the key,
/// tensor or value involved. Every message is one line.
public enum ModelError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The GGUF file itself cannot be read (truncated, corrupted, an unknown ggml type, …).
    case gguf(GGUFError)
    /// A safetensors file cannot be read.
    case tensorFile(TensorFileError)
    /// `general.architecture` (or config.json's `model_type`) is not one LoRAKit builds.
    case unsupportedArchitecture(file: String, architecture: String)
    /// A configuration value is missing or unusable (`key` as the file spells it).
    case invalidConfiguration(file: String, key: String, reason: String)
    /// The weights file has no tensor called `tensor`.
    case missingTensor(file: String, tensor: String)
    /// A tensor's shape is not the one the configuration implies.
    case wrongShape(file: String, tensor: String, expected: [Int], actual: [Int])
    /// A tensor's element type cannot be converted to the model's scalars.
    case unsupportedTensorType(file: String, tensor: String, type: String)
    /// A projection cannot be kept as the blocks asked for: it is stored as `type`, not `kept`.
    case projectionType(file: String, tensor: String, type: String, kept: String)
    /// A projection cannot be quantized (a NaN or infinite weight).
    case quantization(file: String, tensor: String, reason: String)
    /// The model file has no tokenizer or one LoRAKit cannot build.
    case tokenizer(file: String, reason: String)
    /// A short model name whose file is not in the cache.
    case modelNotCached(name: String, path: String, fetchCommand: String)
    /// A path that is neither a GGUF file nor a Hugging Face model directory.
    case unknownModelFormat(path: String)
    /// An argument outside what the model accepts (an empty text, a context of 0 or past the model's).
    case invalidInput(String)

    public var description: String {
        switch self {
        case let .gguf(error): error.description
        case let .tensorFile(error): error.description
        case let .unsupportedArchitecture(file, architecture):
            "\(file): architecture \"\(architecture)\" is not supported (LoRAKit builds llama)"
        case let .invalidConfiguration(file, key, reason): "\(file): \"\(key)\": \(reason)"
        case let .missingTensor(file, tensor): "\(file): no tensor \"\(tensor)\""
        case let .wrongShape(file, tensor, expected, actual):
            "\(file): tensor \"\(tensor)\" has shape \(actual), the configuration needs \(expected)"
        case let .unsupportedTensorType(file, tensor, type):
            "\(file): tensor \"\(tensor)\" has type \(type), which LoRAKit cannot convert to floats"
        case let .projectionType(file, tensor, type, kept):
            "\(file): tensor \"\(tensor)\" is stored as \(type), so it cannot be kept as \(kept) blocks"
        case let .quantization(file, tensor, reason): "\(file): tensor \"\(tensor)\": \(reason)"
        case let .tokenizer(file, reason): "\(file): tokenizer: \(reason)"
        case let .modelNotCached(name, path, fetchCommand):
            "model \"\(name)\" is not cached at \(path); run `\(fetchCommand)`"
        case let .unknownModelFormat(path):
            "\(path): not a .gguf file or a directory with config.json and model.safetensors"
        case let .invalidInput(reason): reason
        }
    }
}
