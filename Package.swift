// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "keysync",
    // macOS 15: `Mutex` (Synchronization), the one lock keysync uses.
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "keysync", targets: ["KeySyncCLI"]),
        .executable(name: "keysync-bench", targets: ["KeySyncBench"]),
        .library(name: "KeySync", targets: ["KeySync"]),
        // The invariants the fuzz targets in Fuzz/ check (also run by KeySyncTests); not for operators.
        .library(name: "KeySyncFuzzChecks", targets: ["KeySyncFuzzChecks"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.0"),
        // 1.16.2: LogHandler.log(event:), which the tests' capturing handler implements.
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        // libssh2 (OpenSSL backend). Only files in Sources/KeySync/SSH import it.
        .systemLibrary(
            name: "CLibSSH2",
            pkgConfig: "libssh2",
            providers: [.apt(["libssh2-1-dev"])]
        ),
        // libcrypto: SHA-256 for fingerprints, public-key derivation from
        // private keys, and rsa-sha2 signatures (libssh2 1.10 signs RSA only with SHA-1).
        .systemLibrary(
            name: "COpenSSL",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]
        ),
        .target(
            name: "KeySync",
            dependencies: [
                "CLibSSH2",
                "COpenSSL",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Logging", package: "swift-log"),
            ],
            // The shell keysync runs on hosts: compiled in at build time by
            // EmbedScriptsPlugin as EmbeddedScripts (no resource bundle to ship).
            exclude: ["Sync/Scripts"],
            plugins: ["EmbedScriptsPlugin"]
        ),
        // Writes Sync/Scripts/*.sh as Swift string constants for KeySync.
        .executableTarget(name: "KeySyncEmbedScripts"),
        .plugin(
            name: "EmbedScriptsPlugin",
            capability: .buildTool(),
            dependencies: ["KeySyncEmbedScripts"]
        ),
        .executableTarget(
            name: "KeySyncCLI",
            dependencies: [
                "KeySync",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Measurements for Scripts/bench (not shipped to operators).
        .executableTarget(
            name: "KeySyncBench",
            dependencies: ["KeySync"]
        ),
        // Per-input checks shared by the libFuzzer targets (Fuzz/) and FuzzRegressionTests.
        .target(
            name: "KeySyncFuzzChecks",
            dependencies: ["KeySync"]
        ),
        .testTarget(
            name: "KeySyncTests",
            dependencies: ["KeySync", "KeySyncCLI", "KeySyncFuzzChecks"],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(
            name: "IntegrationTests",
            dependencies: ["KeySync", .product(name: "GRDB", package: "GRDB.swift")]
        ),
    ]
)
