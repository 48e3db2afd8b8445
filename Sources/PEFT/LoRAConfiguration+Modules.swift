import LoRA

extension LoRAConfiguration {
    /// This configuration with every module's rank and alpha set: the most common rank (ties: the
    /// larger) as `r`, likewise the most common alpha as `α`, and each module that differs in
    /// `rank_pattern`/`alpha_pattern` under a key that selects it alone (``patternKey(for:among:)``).
    /// Patterns this configuration already had are replaced.
    func withModules(_ modules: [String: (rank: Int, alpha: Double)]) -> LoRAConfiguration {
        precondition(!modules.isEmpty, "LoRAConfiguration.withModules: no modules")
        func mostCommon<T: Comparable & Hashable>(_ values: [T]) -> T {
            Dictionary(values.map { ($0, 1) }, uniquingKeysWith: +).max { ($0.value, $0.key) < ($1.value, $1.key) }!.key
        }
        var configuration = self
        configuration.rank = mostCommon(modules.values.map(\.rank))
        configuration.alpha = mostCommon(modules.values.map(\.alpha))
        configuration.rankPattern = [:]
        configuration.alphaPattern = [:]
        let paths = modules.keys.sorted()
        for path in paths {
            let (rank, alpha) = modules[path]!
            if rank != configuration.rank { configuration.rankPattern[Self.patternKey(for: path, among: paths)] = rank }
            if alpha != configuration.alpha { configuration.alphaPattern[Self.patternKey(for: path, among: paths)] = alpha }
        }
        return configuration
    }

    /// A `rank_pattern`/`alpha_pattern` key that selects `path` and no other of `modules` under
    /// PEFT's rule, old (`.*\.key$`) and new (`(.*\.)?key$`): the shortest proper suffix of whole
    /// components that no other module path ends with, dots escaped; the full path when there is none.
    static func patternKey(for path: String, among modules: [String]) -> String {
        let components = path.split(separator: ".")
        let suffix = (1..<max(components.count, 1)).lazy
            .map { components.suffix($0).joined(separator: ".") }
            .first { suffix in !modules.contains { $0 != path && ($0 == suffix || $0.hasSuffix("." + suffix)) } }
        return (suffix ?? path).replacingOccurrences(of: ".", with: "\\.")
    }
}
