// swift-tools-version: 6.0
import PackageDescription

/// Cascade: a recommender engine. Targets follow docs in README.md ("Layout").
let package = Package(
    name: "Cascade",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "Cascade", targets: [
            "CascadeCore", "CascadeStore", "CascadeImport", "CascadeSim",
            "CascadeRecall", "CascadeEval", "CascadeEngine",
        ]),
        .executable(name: "cascade", targets: ["CascadeCLI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        .target(name: "CascadeCore"),
        .target(name: "CascadeStore", dependencies: [
            "CascadeCore",
            .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "CascadeImport", dependencies: ["CascadeCore", "CascadeStore"]),
        .target(name: "CascadeSim", dependencies: ["CascadeCore"]),
        .target(name: "CascadeRecall", dependencies: ["CascadeCore"]),
        .target(name: "CascadeEval", dependencies: ["CascadeCore"]),
        .target(name: "CascadeEngine", dependencies: [
            "CascadeCore", "CascadeStore", "CascadeRecall", "CascadeEval", "CascadeSim", "CascadeImport",
            .product(name: "Logging", package: "swift-log"),
        ]),
        .executableTarget(name: "CascadeCLI", dependencies: [
            "CascadeEngine",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .testTarget(name: "CascadeCoreTests", dependencies: ["CascadeCore"]),
        .testTarget(name: "CascadeStoreTests", dependencies: ["CascadeStore"]),
        .testTarget(name: "CascadeImportTests", dependencies: ["CascadeImport", "CascadeStore"]),
        .testTarget(name: "CascadeSimTests", dependencies: ["CascadeSim"]),
        .testTarget(name: "CascadeRecallTests", dependencies: ["CascadeRecall"]),
        .testTarget(name: "CascadeEvalTests", dependencies: ["CascadeEval"]),
        .testTarget(name: "CascadeEngineTests", dependencies: ["CascadeEngine"]),
    ]
)
