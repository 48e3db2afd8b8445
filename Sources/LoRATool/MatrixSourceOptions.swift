import ArgumentParser

/// `lora svd-table`'s choice of matrix: a seeded Gaussian (the default), a `.npy` file or a
/// tensor of a safetensors file.
struct MatrixSourceOptions: ParsableArguments {
    @Option(help: "A Gaussian source matrix ROWSxCOLUMNS (the default source: 512x512).")
    var gaussian: MatrixShape?

    @Option(help: "A 2-D float32/float64 .npy source matrix (numpy.save, C or Fortran order).")
    var npy: String?

    @Option(help: "A safetensors source file; name the 2-D tensor with --tensor.")
    var safetensors: String?

    @Option(help: "The tensor of the --safetensors file.")
    var tensor: String?

    @Option(help: "Standard deviation of the Gaussian entries.")
    var scale: Double = 0.01

    @Option(help: "Seed of the Gaussian matrix and of the randomized SVD.")
    var seed: UInt64 = 42

    func validate() throws {
        if [gaussian != nil, npy != nil, safetensors != nil].filter({ $0 }).count > 1 {
            throw ValidationError("give one source: --gaussian, --npy or --safetensors")
        }
        if (safetensors == nil) != (tensor == nil) {
            throw ValidationError("--safetensors and --tensor go together")
        }
        if let gaussian, gaussian.rows > 16384 || gaussian.columns > 16384 {
            throw ValidationError("--gaussian \(gaussian.rows)x\(gaussian.columns) is too large: at most 16384 per side")
        }
        if !(scale > 0 && scale.isFinite) { throw ValidationError("--scale must be positive and finite, got \(scale)") }
    }

    var matrixSource: MatrixSource {
        if let npy { return .npy(path: npy) }
        if let safetensors, let tensor { return .safetensors(path: safetensors, tensor: tensor) }
        return .gaussian(gaussian ?? MatrixShape(rows: 512, columns: 512), scale: scale, seed: seed)
    }
}

/// A matrix shape on the command line: `512x512` (or `512×512`).
struct MatrixShape: ExpressibleByArgument {
    var rows: Int
    var columns: Int

    init(rows: Int, columns: Int) {
        self.rows = rows
        self.columns = columns
    }

    init?(argument: String) {
        let parts = argument.lowercased().split(whereSeparator: { $0 == "x" || $0 == "×" })
        guard parts.count == 2, let rows = Int(parts[0]), let columns = Int(parts[1]), rows > 0, columns > 0
        else { return nil }
        self.init(rows: rows, columns: columns)
    }
}
