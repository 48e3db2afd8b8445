// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "LoRAKit",
    products: [
        .library(name: "LoRAKit", targets: ["LoRAKit"]),
        .library(name: "LinearAlgebra", targets: ["LinearAlgebra"]),
        .library(name: "LoRA", targets: ["LoRA"]),
        .library(name: "TensorFormats", targets: ["TensorFormats"]),
        .library(name: "Plotting", targets: ["Plotting"]),
        .library(name: "LowRank", targets: ["LowRank"]),
        .library(name: "Tokenizers", targets: ["Tokenizers"]),
        .executable(name: "lora", targets: ["LoRATool"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .systemLibrary(
            name: "CBLASLAPACK",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev", "liblapacke-dev"])]
        ),
        .target(name: "LinearAlgebra", dependencies: ["CBLASLAPACK", "CKernels"]),
        .target(name: "LoRA", dependencies: ["LinearAlgebra", "LowRank", "TensorFormats", "Layers", "Optimizers"]),
        .target(name: "Plotting"),
        .target(name: "TensorFormats", dependencies: ["LinearAlgebra"]),
        .target(name: "LowRank", dependencies: ["LinearAlgebra"]),
        .target(name: "LoRABench", dependencies: ["LinearAlgebra", "LoRA", "Plotting"]),
        .target(name: "CKernels"),
        .target(name: "Tokenizers"),
        .target(name: "Layers", dependencies: ["LinearAlgebra", "CKernels"]),
        .target(name: "Optimizers", dependencies: ["LinearAlgebra", "Layers"]),
        .target(
            name: "LoRAKit",
            dependencies: ["LinearAlgebra", "LoRA", "LowRank", "Layers", "Optimizers", "Plotting", "TensorFormats"]
        ),
        .executableTarget(
            name: "LoRATool",
            dependencies: [
                "LoRAKit",
                "LoRABench",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .target(name: "CommandTestSupport", path: "Tests/CommandTestSupport"),
        .testTarget(name: "LinearAlgebraTests", dependencies: ["LinearAlgebra", "CKernels"]),
        .testTarget(name: "LoRATests", dependencies: ["LoRA", "Layers", "Optimizers", "LoRATool", "CommandTestSupport"]),
        .testTarget(name: "LoRABenchTests", dependencies: ["LoRABench"]),
        .testTarget(name: "PlottingTests", dependencies: ["Plotting"]),
        .testTarget(name: "TensorFormatsTests", dependencies: ["TensorFormats", "CommandTestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(name: "PEFTAdapterTests", dependencies: ["LoRA", "TensorFormats", "CommandTestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(name: "FileCommandsTests", dependencies: ["LoRA", "TensorFormats", "LoRATool", "CommandTestSupport"]),
        .testTarget(
            name: "LowRankTests", dependencies: ["LowRank", "TensorFormats", "LoRATool", "CommandTestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(name: "LayersTests", dependencies: ["Layers"]),
        .testTarget(name: "OptimizersTests", dependencies: ["Optimizers"]),
        .testTarget(name: "TokenizersTests", dependencies: ["Tokenizers"], resources: [.copy("Fixtures")]),
        .executableTarget(
            name: "LinearAlgebraBenchmarks",
            dependencies: [
                "LinearAlgebra",
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/LinearAlgebraBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "LowRankBenchmarks",
            dependencies: ["LowRank", .product(name: "Benchmark", package: "benchmark")],
            path: "Benchmarks/LowRankBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "LoRABenchmarks",
            dependencies: [
                "LinearAlgebra",
                "LoRA",
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/LoRABenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
