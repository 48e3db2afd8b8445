import NN

/// Why a named-adapter request on a model cannot be done.
public enum NamedAdapterError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The name is empty or is ``AdapterRowAssignment/baseName``.
    case invalidName(String)
    /// An adapter of that name is already loaded.
    case nameInUse(String)
    /// No adapter of that name is loaded; `loaded` lists those that are.
    case unknownAdapter(String, loaded: [String])
    /// `operation` needs unmerged adapters, and `adapter` is merged.
    case merged(adapter: String, operation: String)
    /// `operation` needs an active adapter, and adapters are off or none is active.
    case noActiveAdapter(operation: String)
    /// Unmerging, with no adapter merged.
    case nothingMerged
    /// `operation` needs the rows of a batch to share the active adapter, and row adapters are set.
    case rowAdaptersSet(operation: String)

    public var description: String {
        switch self {
        case let .invalidName(name):
            "adapter name \"\(name)\" is not allowed: give a non-empty name other than \"\(AdapterRowAssignment.baseName)\", which stands for the base model"
        case let .nameInUse(name):
            "an adapter named \"\(name)\" is already loaded; give each adapter its own name"
        case let .unknownAdapter(name, loaded):
            "no adapter named \"\(name)\" is loaded; loaded: " + (loaded.isEmpty ? "none" : loaded.map { "\"\($0)\"" }.joined(separator: ", "))
        case let .merged(adapter, operation):
            "adapter \"\(adapter)\" is merged; unmerge it before \(operation)"
        case let .noActiveAdapter(operation):
            "no adapter is active, so there is none to \(operation)"
        case .nothingMerged:
            "no adapter is merged"
        case let .rowAdaptersSet(operation):
            "rows of the batch have their own adapters; clear them (setRowAdapters(nil)) before \(operation)"
        }
    }
}

/// PEFT's multi-adapter API on a model whose adapted modules are ``MultiLoRALinear`` layers
/// (adapters loaded by name, e.g. `PEFTAdapter.load(into:name:file:)`): the model-wide state is
/// the same on every such layer, and names are checked against all of them, as PEFT checks that
/// some layer has the adapter.
extension Module {
    /// Every ``MultiLoRALinear`` in the model with its path, in model order.
    public func multiLoRALayers() -> [(path: String, layer: MultiLoRALinear<Scalar>)] {
        namedModules().compactMap { path, module in (module as? MultiLoRALinear<Scalar>).map { (path, $0) } }
    }

    /// The names of the loaded adapters, in the order they were loaded.
    public var loadedAdapterNames: [String] {
        var names: [String] = []
        for (_, layer) in multiLoRALayers() {
            for name in layer.adapterNames where !names.contains(name) { names.append(name) }
        }
        return names
    }

    /// The active adapter (PEFT's `active_adapter`), `nil` when none is.
    public var activeAdapterName: String? { multiLoRALayers().first?.layer.activeAdapter }

    /// Whether adapters are added at all (off after ``setAdaptersEnabled(_:)`` with `false`).
    public var adaptersEnabled: Bool { multiLoRALayers().first?.layer.adaptersEnabled ?? true }

    /// The merged adapter, if one is.
    public var mergedAdapterName: String? { multiLoRALayers().lazy.compactMap(\.layer.mergedAdapter).first }

    /// Makes `name` the active adapter on every layer (PEFT's `set_adapter`); layers without it
    /// give their base output.
    public func setActiveAdapter(_ name: String) throws(NamedAdapterError) {
        try requireLoaded(name)
        try requireUnmerged(before: "changing the active adapter")
        for (_, layer) in multiLoRALayers() { layer.selectAdapter(name) }
    }

    /// Turns every adapter off (the model is its base, PEFT's `disable_adapter`) or on again.
    public func setAdaptersEnabled(_ enabled: Bool) throws(NamedAdapterError) {
        try requireUnmerged(before: enabled ? "enabling adapters" : "disabling adapters")
        for (_, layer) in multiLoRALayers() { layer.enableAdapters(enabled) }
    }

    /// Removes the adapter `name` from every layer (PEFT's `delete_adapter`), leaving the others
    /// as they were. When it was active, the first remaining name in sorted order becomes active,
    /// as in PEFT (none when no adapter remains).
    public func deleteAdapter(_ name: String) throws(NamedAdapterError) {
        try requireLoaded(name)
        if let merged = mergedAdapterName, merged == name { throw .merged(adapter: name, operation: "deleting it") }
        let layers = multiLoRALayers()
        for (_, layer) in layers { layer.removeAdapter(named: name) }
        guard activeAdapterName == name else { return }
        let next = loadedAdapterNames.sorted().first
        for (_, layer) in layers { layer.selectAdapter(next) }
    }

    /// Gives each row of the next batches an adapter by name (PEFT's `adapter_names`, with
    /// ``AdapterRowAssignment/baseName`` for none), or `nil` to go back to the active adapter.
    /// Every name must be loaded and no adapter merged (PEFT refuses merged adapters in a mixed
    /// batch; DoRA adapters are served, unmerged, where PEFT refuses them).
    public func setRowAdapters(_ assignment: AdapterRowAssignment?) throws(NamedAdapterError) {
        for name in assignment?.adapterNames ?? [] { try requireLoaded(name) }
        try requireUnmerged(before: "running a mixed batch; PEFT refuses merged adapters there too")
        for (_, layer) in multiLoRALayers() { layer.assignRows(assignment) }
    }

    /// Merges the active adapter into every layer that holds it (PEFT's `merge_adapter`): the
    /// forward is then one GEMM per layer. Not with a row assignment set.
    public func mergeActiveAdapter() throws(NamedAdapterError) {
        try requireUnmerged(before: "merging another")
        guard adaptersEnabled, let name = activeAdapterName else { throw .noActiveAdapter(operation: "merge") }
        if multiLoRALayers().contains(where: { $0.layer.rowAssignment != nil }) {
            throw .rowAdaptersSet(operation: "merging \"\(name)\"")
        }
        for (_, layer) in multiLoRALayers() { layer.mergeActive() }
    }

    /// Unmerges the merged adapter (exactly: the base weights were never changed).
    public func unmergeAdapter() throws(NamedAdapterError) {
        guard mergedAdapterName != nil else { throw .nothingMerged }
        for (_, layer) in multiLoRALayers() { layer.unmerge() }
    }

    private func requireLoaded(_ name: String) throws(NamedAdapterError) {
        let loaded = loadedAdapterNames
        guard loaded.contains(name) else { throw .unknownAdapter(name, loaded: loaded) }
    }

    private func requireUnmerged(before operation: String) throws(NamedAdapterError) {
        if let merged = mergedAdapterName { throw .merged(adapter: merged, operation: operation) }
    }
}
