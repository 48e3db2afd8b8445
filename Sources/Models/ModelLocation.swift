import Foundation

/// Where `--model` arguments point: a path, or a short name in the LoRAKit cache
/// (`${LORAKIT_CACHE:-$HOME/.cache/lorakit}`, where scripts/fetch-model installs models).
public enum ModelLocation {
    /// Short names, their file under the cache, the command that fetches it, and the Hugging Face
    /// model the file holds (what a PEFT adapter for it names as its base).
    public static let shortNames: [String: (file: String, fetchCommand: String, huggingFaceName: String)] = [
        "smollm2": ("models/SmolLM2-135M-Instruct.Q4_1.gguf", "scripts/fetch-model smollm2", "HuggingFaceTB/SmolLM2-135M-Instruct"),
    ]

    /// The Hugging Face name of the model `argument` names (a short name, or a path to a short
    /// name's file), or `nil`.
    public static func huggingFaceName(of argument: String) -> String? {
        if let entry = shortNames[argument] { return entry.huggingFaceName }
        let file = URL(fileURLWithPath: argument).lastPathComponent
        return shortNames.values.first { URL(fileURLWithPath: $0.file).lastPathComponent == file }?.huggingFaceName
    }

    /// The cache directory: `$LORAKIT_CACHE`, else `~/.cache/lorakit`.
    public static func cacheDirectory(environment: [String: String] = ProcessInfo.processInfo.environment) -> URL {
        if let cache = environment["LORAKIT_CACHE"], !cache.isEmpty { return URL(fileURLWithPath: cache) }
        let home = environment["HOME"].map { URL(fileURLWithPath: $0) } ?? FileManager.default.homeDirectoryForCurrentUser
        return home.appendingPathComponent(".cache/lorakit")
    }

    /// The file or directory `argument` names: a short name's cached file (which must exist), or
    /// the path itself.
    public static func resolve(_ argument: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws(ModelError) -> URL {
        if let (file, fetch, _) = shortNames[argument] {
            let url = cacheDirectory(environment: environment).appendingPathComponent(file)
            guard FileManager.default.fileExists(atPath: url.path) else {
                throw .modelNotCached(name: argument, path: url.path, fetchCommand: fetch)
            }
            return url
        }
        guard FileManager.default.fileExists(atPath: argument) else {
            throw .invalidInput("\(argument): no such file or directory (nor a short model name: \(shortNames.keys.sorted().joined(separator: ", ")))")
        }
        return URL(fileURLWithPath: argument)
    }

    /// The cached file of `name` if it is there, else `nil` (for tests and demos that skip without it).
    public static func cachedFile(_ name: String) -> URL? { try? resolve(name) }
}
