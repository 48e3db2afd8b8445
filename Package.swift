// swift-tools-version:6.1
import PackageDescription

/// Modules by concern; each arrow ("imports") points down the table in README.md.
let package = Package(
    name: "LoRAKit",
    products: [
        .library(name: "LoRAKit", targets: ["LoRAKit"]),
        .library(name: "LinearAlgebra", targets: ["LinearAlgebra"]),
        .library(name: "FileSafety", targets: ["FileSafety"]),
        .library(name: "TensorFormats", targets: ["TensorFormats"]),
        .library(name: "LowRank", targets: ["LowRank"]),
        .library(name: "ModelSizing", targets: ["ModelSizing"]),
        .library(name: "NN", targets: ["NN"]),
        .library(name: "Optimizers", targets: ["Optimizers"]),
        .library(name: "LoRA", targets: ["LoRA"]),
        .library(name: "PEFT", targets: ["PEFT"]),
        .library(name: "Collectives", targets: ["Collectives"]),
        .library(name: "Training", targets: ["Training"]),
        .library(name: "Tokenizers", targets: ["Tokenizers"]),
        .library(name: "Models", targets: ["Models"]),
        .library(name: "Quantization", targets: ["Quantization"]),
        .library(name: "Plotting", targets: ["Plotting"]),
        .library(name: "Reporting", targets: ["Reporting"]),
        .library(name: "LoRABench", targets: ["LoRABench"]),
        .executable(name: "lora", targets: ["LoRATool"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-numerics", from: "1.1.1"),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        // C modules, each imported (internally) by the one Swift module that owns it.
        .systemLibrary(
            name: "CBLASLAPACK",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev", "liblapacke-dev"])]
        ),
        .systemLibrary(
            name: "CMPI",
            pkgConfig: "ompi-c",
            providers: [.apt(["libopenmpi-dev"])]
        ),
        .target(name: "CNNKernels"),
        .target(name: "CLowRankKernel"),
        .target(name: "CQuantKernels"),
        .target(name: "CTemporaryCleanup"),

        .target(
            name: "LinearAlgebra",
            dependencies: ["CBLASLAPACK", .product(name: "RealModule", package: "swift-numerics")]),
        .target(name: "FileSafety", dependencies: ["CTemporaryCleanup"]),
        .target(name: "TensorFormats", dependencies: ["FileSafety"]),
        .target(name: "Collectives", dependencies: ["CMPI"]),
        .target(name: "Plotting", dependencies: ["FileSafety"]),
        .target(name: "Reporting"),
        .target(name: "ModelSizing", dependencies: ["Reporting"]),
        .target(name: "LowRank", dependencies: ["LinearAlgebra", "Plotting", "Reporting"]),
        .target(name: "NN", dependencies: ["LinearAlgebra", "CNNKernels"]),
        .target(name: "Optimizers", dependencies: ["LinearAlgebra", "NN"]),
        .target(name: "Quantization", dependencies: ["LinearAlgebra", "NN"]),
        .target(name: "LoRA", dependencies: ["LinearAlgebra", "FileSafety", "NN", "CLowRankKernel"]),
        .target(name: "PEFT", dependencies: ["LinearAlgebra", "FileSafety", "TensorFormats", "NN", "LowRank", "LoRA", "Models", "Plotting", "Reporting"]),
        .target(
            name: "Training",
            dependencies: ["LinearAlgebra", "FileSafety", "TensorFormats", "NN", "Optimizers", "LoRA", "Models", "Collectives", "Plotting", "Reporting"]),
        .target(
            name: "LoRABench",
            dependencies: ["LinearAlgebra", "LoRA", "LowRank", "ModelSizing", "NN", "Training", "Plotting", "Reporting"]),
        .target(name: "Tokenizers"),
        .target(name: "Models", dependencies: ["LinearAlgebra", "TensorFormats", "NN", "Tokenizers", "Reporting", "Quantization", "CQuantKernels"]),
        .target(
            name: "LoRAKit",
            dependencies: [
                "LinearAlgebra", "FileSafety", "TensorFormats", "LowRank", "ModelSizing", "NN", "Optimizers", "LoRA", "PEFT",
                "Training", "Plotting", "Reporting", "Tokenizers", "Models", "Quantization",
            ]),
        .executableTarget(
            name: "LoRATool",
            dependencies: [
                "LoRAKit",
                "LoRABench",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        .target(name: "CommandTestSupport", path: "Tests/CommandTestSupport"),
        .target(
            name: "TrainingTestSupport", dependencies: ["Training", "LoRA", "NN", "LinearAlgebra"],
            path: "Tests/TrainingTestSupport"),
        // Run by TrainingTests under mpirun: one rank of a fine-tuning run.
        .executableTarget(
            name: "MPITrainingCheck", dependencies: ["Training", "TrainingTestSupport", "LinearAlgebra"],
            path: "Tests/MPITrainingCheck"),
        .testTarget(name: "CollectivesTests", dependencies: ["Collectives"]),
        .testTarget(name: "LinearAlgebraTests", dependencies: ["LinearAlgebra"]),
        .testTarget(name: "FileSafetyTests", dependencies: ["FileSafety"]),
        .testTarget(name: "CQuantKernelsTests", dependencies: ["CQuantKernels"]),
        .testTarget(
            name: "TensorFormatsTests", dependencies: ["TensorFormats", "LinearAlgebra", "PEFT", "CommandTestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(
            name: "LowRankTests", dependencies: ["LowRank", "TensorFormats", "PEFT", "LoRATool", "CommandTestSupport"],
            resources: [.copy("Fixtures")]),
        .testTarget(name: "ModelSizingTests", dependencies: ["ModelSizing"]),
        .testTarget(name: "NNTests", dependencies: ["NN"]),
        .testTarget(name: "OptimizersTests", dependencies: ["Optimizers"]),
        .testTarget(
            name: "QuantizationTests", dependencies: ["Quantization", "NN", "LinearAlgebra", "TensorFormats"],
            resources: [.copy("Fixtures")]),
        .testTarget(name: "LoRATests", dependencies: ["LoRA", "NN", "Quantization", "CLowRankKernel", "LoRATool", "CommandTestSupport"]),
        .testTarget(
            name: "PEFTTests", dependencies: ["PEFT", "LoRA", "NN", "LinearAlgebra", "TensorFormats", "CommandTestSupport"],
            resources: [.copy("Fixtures")]),
        .testTarget(
            name: "FileCommandsTests",
            dependencies: ["PEFT", "LoRA", "Models", "LinearAlgebra", "TensorFormats", "LoRATool", "CommandTestSupport"]),
        .testTarget(
            name: "TrainingTests",
            dependencies: [
                "Training", "LoRA", "NN", "Optimizers", "Models", "PEFT", "LoRATool", "CommandTestSupport",
                "TrainingTestSupport", "MPITrainingCheck",
            ]),
        .testTarget(name: "PlottingTests", dependencies: ["Plotting"]),
        .testTarget(name: "ReportingTests", dependencies: ["Reporting"]),
        .testTarget(name: "LoRABenchTests", dependencies: ["LoRABench", "LoRA", "NN", "LinearAlgebra"]),
        .testTarget(name: "TokenizersTests", dependencies: ["Tokenizers"], resources: [.copy("Fixtures")]),
        .testTarget(name: "ReadmeExamplesTests", dependencies: ["LoRAKit"]),
        .testTarget(
            name: "ModelsTests", dependencies: ["Models", "NN", "LinearAlgebra", "TensorFormats", "Tokenizers", "PEFT", "LoRA", "Quantization", "Training", "LoRATool", "CommandTestSupport"],
            resources: [.copy("Fixtures")]),

        .executableTarget(
            name: "QLoRATiming", dependencies: ["LinearAlgebra", "NN", "Quantization", "TensorFormats", "Models"],
            path: "Benchmarks/QLoRATiming"),
        .executableTarget(
            name: "LinearAlgebraBenchmarks",
            dependencies: ["LinearAlgebra", .product(name: "Benchmark", package: "benchmark")],
            path: "Benchmarks/LinearAlgebraBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "LowRankBenchmarks",
            dependencies: ["LinearAlgebra", "LowRank", .product(name: "Benchmark", package: "benchmark")],
            path: "Benchmarks/LowRankBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "LoRABenchmarks",
            dependencies: ["LinearAlgebra", "LoRA", .product(name: "Benchmark", package: "benchmark")],
            path: "Benchmarks/LoRABenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
