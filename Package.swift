// swift-tools-version: 6.0
import PackageDescription

// Hot kernels in CascadeTensor are pure Swift SIMD. On x86_64 they need AVX2+FMA code generation
// (without it `addingProduct` becomes a libm `fmaf` call, ~100x slower), so the target is built
// for Haswell-class CPUs; CascadeTensor checks the CPU at start-up and fails with a clear message
// on one without AVX2/FMA. On other architectures the defaults are used.
#if arch(x86_64)
let kernelFlags: [SwiftSetting] = [
    .unsafeFlags(["-target-cpu", "haswell"]),
    .unsafeFlags(["-Ounchecked"], .when(configuration: .release)),
]
#else
let kernelFlags: [SwiftSetting] = [.unsafeFlags(["-Ounchecked"], .when(configuration: .release))]
#endif
/// The tensor kernels are optimised in debug builds too: the test suite trains rankers, and
/// unoptimised GEMM made it several times slower without making anything easier to debug.
let tensorFlags: [SwiftSetting] = kernelFlags + [.unsafeFlags(["-O"], .when(configuration: .debug))]

/// Cascade: a recommender engine. Targets follow docs in README.md ("Layout").
let package = Package(
    name: "Cascade",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "Cascade", targets: [
            "CascadeCore", "CascadeTensor", "CascadeANN", "CascadeStore", "CascadePostgres", "CascadeImport", "CascadeSim",
            "CascadeRecall", "CascadeEval", "CascadeRank", "CascadeRerank", "CascadeExperiment", "CascadeEngine", "CascadeLab", "CascadeServer",
        ]),
        .executable(name: "cascade", targets: ["CascadeCLI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
    ],
    targets: [
        .target(name: "CascadeCore"),
        .target(name: "CascadeTensor", dependencies: ["CascadeCore"], swiftSettings: tensorFlags),
        .target(name: "CascadeANN", dependencies: ["CascadeCore"], swiftSettings: kernelFlags),
        .target(name: "CascadeStore", dependencies: [
            "CascadeCore",
            .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "GRDBSQLite", package: "GRDB.swift"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "CascadePostgres", dependencies: [
            "CascadeCore", "CascadeStore",
            .product(name: "PostgresNIO", package: "postgres-nio"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "CascadeImport", dependencies: ["CascadeCore", "CascadeStore"]),
        .target(name: "CascadeSim", dependencies: ["CascadeCore"]),
        .target(name: "CascadeRecall", dependencies: ["CascadeCore", "CascadeTensor", "CascadeANN"], swiftSettings: kernelFlags),
        .target(name: "CascadeEval", dependencies: ["CascadeCore"]),
        .target(name: "CascadeExperiment", dependencies: ["CascadeCore"]),
        .target(name: "CascadeRerank", dependencies: ["CascadeCore"]),
        .target(name: "CascadeRank", dependencies: ["CascadeCore", "CascadeTensor", "CascadeEval"], swiftSettings: kernelFlags),
        .target(name: "CascadeEngine", dependencies: [
            "CascadeCore", "CascadeTensor", "CascadeANN", "CascadeStore", "CascadeRecall", "CascadeEval", "CascadeImport",
            "CascadeRerank", "CascadeExperiment", "CascadeRank",
            .product(name: "Logging", package: "swift-log"),
        ]),
        // The lab: the simulator wired to the engine (closed-loop A/B, research evaluations).
        // Serving does not link it.
        .target(name: "CascadeLab", dependencies: [
            "CascadeCore", "CascadeEngine", "CascadeSim", "CascadeStore", "CascadeRecall", "CascadeRank", "CascadeEval",
            "CascadeExperiment", "CascadeANN", "CascadeTensor",
        ]),
        .target(name: "CascadeServer", dependencies: [
            "CascadeCore", "CascadeStore", "CascadeRecall", "CascadeEngine", "CascadeExperiment",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .executableTarget(name: "CascadeCLI", dependencies: [
            "CascadeEngine", "CascadeLab", "CascadeSim", "CascadeServer", "CascadePostgres", "CascadeTensor", "CascadeANN", "CascadeRank", "CascadeRerank", "CascadeImport", "CascadeEval", "CascadeExperiment",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // Helpers shared by the test targets (never shipped).
        .target(name: "CascadeTestSupport", path: "Tests/CascadeTestSupport"),
        .testTarget(name: "CascadeCoreTests", dependencies: ["CascadeCore"]),
        .testTarget(name: "CascadeTensorTests", dependencies: ["CascadeTensor", "CascadeCore"]),
        .testTarget(name: "CascadeANNTests", dependencies: ["CascadeANN"]),
        .testTarget(name: "CascadeStoreTests", dependencies: ["CascadeStore", "CascadePostgres", "CascadeTestSupport"]),
        .testTarget(name: "CascadeImportTests", dependencies: ["CascadeImport", "CascadeStore", "CascadeTestSupport"]),
        .testTarget(name: "CascadeSimTests", dependencies: ["CascadeSim"]),
        .testTarget(name: "CascadeRecallTests", dependencies: ["CascadeRecall"]),
        .testTarget(name: "CascadeEvalTests", dependencies: ["CascadeEval"]),
        .testTarget(name: "CascadeExperimentTests", dependencies: ["CascadeExperiment"]),
        .testTarget(name: "CascadeRerankTests", dependencies: ["CascadeRerank"]),
        .testTarget(name: "CascadeRankTests", dependencies: ["CascadeRank", "CascadeTensor", "CascadeCore"]),
        .testTarget(name: "CascadeEngineTests", dependencies: ["CascadeEngine", "CascadeLab", "CascadeRank", "CascadeRerank", "CascadeSim", "CascadeTestSupport"]),
        .testTarget(name: "CascadeCLITests", dependencies: [
            "CascadeCLI", "CascadeEngine",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .testTarget(name: "CascadeServerTests", dependencies: [
            "CascadePostgres",
            "CascadeServer", "CascadeEngine", "CascadeLab", "CascadeStore", "CascadeSim",
            .product(name: "HummingbirdTesting", package: "hummingbird"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
        ]),
    ]
)
