import ArgumentParser
import LoRAKit

/// `lora train`'s adapter flags: what LoRA wraps and how it starts.
struct LoRAOptions: ParsableArguments {
    @Option(help: "LoRA rank r.") var rank = 8
    @Option(help: "LoRA alpha α (scaling α/r).") var alpha = 16.0
    @Option(help: "Dropout on the adapter input.") var dropout = 0.0
    @Option(help: ArgumentList.help("Target module names (PEFT rule), or all-linear", default: LoRAOptions.defaultTargets),
            transform: ArgumentList.parse)
    var targets = [ArgumentList(LoRAOptions.defaultTargets)]
    static let defaultTargets = ["q_proj", "k_proj", "v_proj", "o_proj"]
    @Option(help: "Adapter initialisation.") var initialization: Initialization = .kaiming
    @Option(help: "Bias training.") var bias: LoRABias = .none
    @Flag(help: "Scale by α/√r (rsLoRA).") var rslora = false

    /// The adapter initialisations a flag can name.
    enum Initialization: String, ExpressibleByArgument, CaseIterable {
        case kaiming, gaussian, pissa

        var scheme: LoRAInitialization {
            switch self {
            case .kaiming: .kaimingUniform
            case .gaussian: .gaussian
            case .pissa: .pissa
            }
        }
    }

    func validate() throws {
        if rank < 1 { throw ValidationError("--rank must be at least 1, got \(rank)") }
        if targets.values().contains("") { throw ValidationError("--targets has an empty name") }
        try configuration(rank: rank, alpha: alpha).validate()
    }

    /// The configuration the flags describe, at rank `rank` with alpha `alpha`.
    func configuration(rank: Int, alpha: Double) -> LoRAConfiguration {
        let names = targets.values()
        return LoRAConfiguration(
            rank: rank, alpha: alpha, dropout: dropout,
            targetModules: names == ["all-linear"] ? .allLinear : .names(names),
            useRSLoRA: rslora, bias: bias, initialization: initialization.scheme)
    }
}
