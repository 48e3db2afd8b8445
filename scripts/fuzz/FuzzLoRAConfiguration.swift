// libFuzzer entry for LoRAConfiguration's adapter_config.json reader; built and run by
// scripts/fuzz/run. Every input is parsed as an adapter_config.json; a configuration that parses
// is asked what it targets, each module's rank, alpha and scaling, and must encode to a file that
// parses again. A crash, a sanitizer report, a non-finite scaling or a configuration whose own
// file does not parse is a bug.
import Foundation
import LoRA

private let paths = ["blocks.0.attn.q_proj", "model.layers.3.self_attn.v_proj", "lm_head", "mlp.0", ""]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzLoRAConfiguration(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let data = Data(bytes: bytes, count: count)
    let configuration: LoRAConfiguration
    do {
        configuration = try LoRAConfiguration.parse(data, path: "adapter_config.json").configuration
    } catch {
        _ = error.description
        return 0
    }
    for path in paths {
        _ = configuration.targets(path)
        _ = configuration.rank(forModule: path)
        precondition(configuration.scaling(forModule: path).isFinite || configuration.alpha(forModule: path).magnitude > 1e300,
                     "non-finite scaling for \(path)")
    }
    _ = configuration.targetModules.description
    do {
        let encoded = try configuration.encodedFile()
        _ = try LoRAConfiguration.parse(encoded, path: "re-encoded")
    } catch {
        preconditionFailure("a configuration that parsed does not round-trip: \(error)")
    }
    return 0
}
