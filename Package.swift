// swift-tools-version:6.1
// Elastos Device Agent. Layers (arrows point down only):
//   C system library (CSQLite, CSodium) -> thin typed binding (ElaSQLite, ElaSodium)
//   -> domain (ElaFileSystem, ElaJSON, ElaTOML, ElaCrypto, ElaIdentity, ElaKeystore, ElaStorage, ElaConfig, ElaControl,
//      ElaDeviceIdentity)
//   -> daemon / CLI (ElaDaemon, ElaCLI) -> tiny @main executables (ela-agent, elactl).
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let crypto: Target.Dependency = .product(name: "Crypto", package: "swift-crypto")
let logging: Target.Dependency = .product(name: "Logging", package: "swift-log")

let package = Package(
    name: "ela-agent",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "ela-agent", targets: ["ela-agent"]),
        .executable(name: "elactl", targets: ["elactl"]),
        .executable(name: "ela", targets: ["ela"]),
        .library(name: "ElaIdentity", targets: ["ElaIdentity"]),
        // DApp side of the carrier: remote calls and subscriptions through a spawned `ela-carrier`.
        .library(name: "ElaClient", targets: ["ElaClient"]),
        .executable(name: "ela-carrier", targets: ["ela-carrier"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.0.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.6.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.6.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.80.0"),
    ],
    targets: [
        // C system libraries: only the matching Ela* binding imports each.
        .systemLibrary(name: "CSQLite", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CSodium", pkgConfig: "libsodium", providers: [.apt(["libsodium-dev"])]),
        .systemLibrary(name: "CGPIOD", pkgConfig: "libgpiod", providers: [.apt(["libgpiod-dev"])]),
        .systemLibrary(name: "CMosquitto", pkgConfig: "libmosquitto", providers: [.apt(["libmosquitto-dev"])]),
        // libtoxcore is GPL-3.0-or-later: only ElaTox imports it and only ela-carrier links ElaTox.
        .systemLibrary(name: "CToxcore", pkgConfig: "toxcore", providers: [.apt(["libtoxcore-dev"])]),
        .systemLibrary(name: "CQRencode", pkgConfig: "libqrencode", providers: [.apt(["libqrencode-dev"])]),

        // Thin typed bindings.
        .target(name: "ElaSQLite", dependencies: ["CSQLite"], swiftSettings: swiftSettings),
        .target(name: "ElaSodium", dependencies: ["CSodium"], swiftSettings: swiftSettings),
        .target(name: "ElaGPIOD", dependencies: ["CGPIOD"], swiftSettings: swiftSettings),
        .target(name: "ElaMosquitto", dependencies: ["CMosquitto"], swiftSettings: swiftSettings),
        .target(name: "ElaTox", dependencies: ["CToxcore"], swiftSettings: swiftSettings),
        .target(name: "ElaQR", dependencies: ["CQRencode"], swiftSettings: swiftSettings),

        // Domain modules.
        .target(name: "ElaFileSystem", swiftSettings: swiftSettings),
        .target(name: "ElaWire", swiftSettings: swiftSettings),
        .target(name: "ElaMerkle", dependencies: ["ElaWire", crypto], swiftSettings: swiftSettings),
        .target(name: "ElaChain", dependencies: ["ElaWire", crypto], swiftSettings: swiftSettings),
        .target(
            name: "ElaP2P",
            dependencies: ["ElaWire", "ElaChain", "ElaMerkle", crypto, .product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: swiftSettings),
        .target(
            name: "ElaSPV",
            dependencies: [
                "ElaChain", "ElaMerkle", "ElaP2P", "ElaWire", "ElaStorage", "ElaIdentity", "ElaJSON", logging,
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings),
        .target(name: "ElaJSON", swiftSettings: swiftSettings),
        .target(name: "ElaSpelling", swiftSettings: swiftSettings),
        .target(name: "ElaTOML", dependencies: ["ElaSpelling"], swiftSettings: swiftSettings),
        .target(name: "ElaCrypto", dependencies: [crypto], swiftSettings: swiftSettings),
        .target(name: "ElaIdentity", dependencies: ["ElaJSON", "ElaCrypto", crypto], swiftSettings: swiftSettings),
        .target(name: "ElaKeystore", dependencies: ["ElaSodium"], swiftSettings: swiftSettings),
        .target(name: "ElaStorage", dependencies: ["ElaSQLite", "ElaFileSystem"], swiftSettings: swiftSettings),
        .target(name: "ElaConfig", dependencies: ["ElaTOML", "ElaFileSystem", "ElaSpelling"], swiftSettings: swiftSettings),
        .target(name: "ElaControl", dependencies: ["ElaJSON"], swiftSettings: swiftSettings),
        // The DID gate: grants, owner credentials, replay protection, the hash-chained audit log.
        .target(
            name: "ElaGate", dependencies: ["ElaStorage", "ElaSQLite", "ElaIdentity", "ElaCrypto", "ElaJSON"],
            swiftSettings: swiftSettings),
        .target(name: "ElaPluginProtocol", dependencies: ["ElaJSON"], swiftSettings: swiftSettings),
        // Plugins: the sandbox policy (and its C launcher `ela-sandbox`), the host that supervises plugin processes.
        .target(name: "ElaSandbox", dependencies: ["ElaJSON"], swiftSettings: swiftSettings),
        // The launcher, in C: confines itself (cgroup, namespaces, minimal root, uid, no_new_privs, Landlock, seccomp,
        // rlimits), then execs the plugin. The daemon posix_spawns it; it is the only code that forks.
        .executableTarget(name: "ela-sandbox", linkerSettings: [.linkedLibrary("seccomp")]),
        // The plugin SDK: the only module a Swift plugin imports.
        .target(name: "ElaPluginKit", dependencies: ["ElaPluginProtocol", "ElaJSON"], swiftSettings: swiftSettings),
        .target(name: "ElaSensors", dependencies: ["ElaFileSystem", "ElaJSON", "ElaPluginKit"], swiftSettings: swiftSettings),
        .target(name: "ElaGPIO", dependencies: ["ElaGPIOD", "ElaPluginKit", "ElaJSON"], swiftSettings: swiftSettings),
        // The MQTT bridge's domain: topics, the durable SQLite outbox, command envelopes, reconnect backoff.
        .target(name: "ElaMQTTBridge", dependencies: ["ElaMosquitto", "ElaSQLite", "ElaJSON", "ElaPluginKit", "ElaFileSystem"], swiftSettings: swiftSettings),
        // Carrier: chunking and flow control (used inside ela-carrier), hello/admission/session protocol (daemon and DApp).
        .target(name: "ElaCarrierLink", swiftSettings: swiftSettings),
        .target(name: "ElaCarrier", dependencies: ["ElaGate", "ElaIdentity", "ElaCrypto", "ElaJSON"], swiftSettings: swiftSettings),
        // Built-in plugins: executables in Plugins/<name>/ next to their plugin.toml.
        // ela-carrier links libtoxcore and is GPL-3.0-or-later (Packaging/LICENSES.md).
        .executableTarget(
            name: "ela-carrier", dependencies: ["ElaTox", "ElaCarrierLink", "ElaPluginKit"], path: "Plugins/carrier",
            exclude: ["plugin.toml"], swiftSettings: swiftSettings),
        .executableTarget(
            name: "ela-plugin-mqtt", dependencies: ["ElaMQTTBridge", "ElaPluginKit"], path: "Plugins/mqtt",
            exclude: ["plugin.toml"], swiftSettings: swiftSettings),
        .executableTarget(
            name: "ela-plugin-gpio", dependencies: ["ElaGPIO", "ElaPluginKit"], path: "Plugins/gpio", exclude: ["plugin.toml"],
            swiftSettings: swiftSettings),
        .executableTarget(
            name: "ela-plugin-sensors", dependencies: ["ElaPluginKit", "ElaSensors"], path: "Plugins/sensors",
            exclude: ["plugin.toml"], swiftSettings: swiftSettings),
        .target(
            name: "ElaPluginHost",
            dependencies: [
                "ElaPluginProtocol", "ElaJSON", "ElaConfig", "ElaSandbox", "ElaFileSystem", "ElaLoopExecutor", logging,
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings),
        .target(
            name: "ElaDeviceIdentity",
            dependencies: [
                "ElaIdentity", "ElaCrypto", "ElaJSON", "ElaKeystore", "ElaSodium", "ElaStorage", "ElaConfig", "ElaFileSystem",
            ],
            swiftSettings: swiftSettings),

        // The executor that keeps a task on one NIO event loop (control requests, plugin requests, their plugin calls).
        .target(
            name: "ElaLoopExecutor", dependencies: [.product(name: "NIOCore", package: "swift-nio")], swiftSettings: swiftSettings),
        .target(
            name: "ElaControlServer",
            dependencies: [
                "ElaControl", "ElaJSON", "ElaLoopExecutor", logging,
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings),

        // Daemon and CLI.
        .target(
            name: "ElaDaemon",
            dependencies: [
                "ElaDeviceIdentity", "ElaIdentity", "ElaCrypto", "ElaStorage", "ElaConfig", "ElaControl", "ElaJSON",
                "ElaFileSystem", "ElaControlServer", "ElaSPV", "ElaChain", "ElaWire", "ElaPluginHost", "ElaSandbox",
                "ElaGate", "ElaPluginProtocol", "ElaCarrier", "ElaKeystore", "ElaSodium", "ElaSpelling", logging,
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "ElaCLI",
            dependencies: [
                "ElaIdentity", "ElaCrypto", "ElaJSON", "ElaControl", "ElaDeviceIdentity", "ElaConfig", "ElaStorage",
                "ElaFileSystem", "ElaChain", "ElaMerkle", "ElaWire", "ElaGate", "ElaKeystore", "ElaSodium", "ElaCarrier", "ElaQR",
                "ElaClient", logging,
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "ElaClient",
            dependencies: [
                "ElaCarrier", "ElaGate", "ElaIdentity", "ElaCrypto", "ElaJSON", "ElaConfig", "ElaPluginHost", "ElaPluginProtocol", "ElaFileSystem",
                logging,
            ],
            swiftSettings: swiftSettings),
        .executableTarget(name: "ela-agent", dependencies: ["ElaDaemon"], swiftSettings: swiftSettings),
        .executableTarget(name: "elactl", dependencies: ["ElaCLI"], swiftSettings: swiftSettings),
        // The package's multi-call program: ela-agent, elactl and the built-in plugins in one binary (make deb).
        .executableTarget(
            name: "ela", dependencies: ["ElaCLI", "ElaDaemon", "ElaGPIO", "ElaSensors", "ElaMQTTBridge", "ElaPluginKit"],
            swiftSettings: swiftSettings),
        // `ela-regtest`: regtest ELA chain node for the devnet and tests (mines on demand, DID requests, SPV peers).
        .target(
            name: "ElaRegtest",
            dependencies: [
                "ElaChain", "ElaMerkle", "ElaP2P", "ElaWire", "ElaSQLite", "ElaControl", "ElaControlServer", "ElaJSON",
                "ElaIdentity", "ElaCrypto", "ElaFileSystem", logging,
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings),
        .executableTarget(name: "ela-regtest", dependencies: ["ElaRegtest"], swiftSettings: swiftSettings),
        // `make bench`: throughput figures next to baselines measured in the same run.
        .executableTarget(
            name: "ela-bench",
            dependencies: [
                "ElaIdentity", "ElaCrypto", "ElaJSON", "ElaChain", "ElaWire", "ElaStorage", "ElaSQLite", "ElaSPV", "ElaRegtest",
                "ElaControl", "ElaGate", "ElaPluginHost", "ElaPluginProtocol", "ElaMosquitto", "ElaMQTTBridge", "ElaCarrier", "ElaClient",
                "ElaConfig", "ElaDeviceIdentity", crypto, logging,
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Benchmarks/ela-bench",
            swiftSettings: swiftSettings),

        // Tests: one target per library target, shared helpers in ElaTestSupport.
        .target(name: "ElaTestSupport", dependencies: ["ElaFileSystem"], path: "Tests/ElaTestSupport", swiftSettings: swiftSettings),
        // The host's side of a plugin socket, for testing plugins in-process or spawned.
        .target(
            name: "ElaPluginTestSupport", dependencies: ["ElaPluginKit", "ElaPluginProtocol", "ElaJSON"],
            path: "Tests/ElaPluginTestSupport", swiftSettings: swiftSettings),
        .testTarget(name: "ElaSQLiteTests", dependencies: ["ElaSQLite", "ElaTestSupport"], swiftSettings: swiftSettings),
        .testTarget(
            name: "ElaMosquittoTests", dependencies: ["ElaMosquitto", "ElaTestSupport"], swiftSettings: swiftSettings),
        .testTarget(
            name: "ElaMQTTBridgeTests",
            dependencies: ["ElaMQTTBridge", "ElaMosquitto", "ElaSQLite", "ElaJSON", "ElaTestSupport"],
            swiftSettings: swiftSettings),
        .testTarget(name: "ElaToxTests", dependencies: ["ElaTox", "ElaTestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "ElaQRTests", dependencies: ["ElaQR", "ElaTestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "ElaCarrierLinkTests", dependencies: ["ElaCarrierLink", "ElaTestSupport"], swiftSettings: swiftSettings),
        .testTarget(
            name: "ElaCarrierTests",
            dependencies: ["ElaCarrier", "ElaGate", "ElaIdentity", "ElaCrypto", "ElaJSON", "ElaTestSupport"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "ElaClientTests",
            dependencies: [
                "ElaClient", "ElaCarrier", "ElaConfig", "ElaGate", "ElaIdentity", "ElaJSON", "ElaDeviceIdentity", "ElaTestSupport", "ela-carrier", logging,
                "ela-agent", "elactl", "ela-plugin-gpio", "ela-plugin-sensors", "ela-regtest",
            ],
            swiftSettings: swiftSettings),
        .testTarget(name: "ElaSodiumTests", dependencies: ["ElaSodium", "ElaTestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "ElaWireTests", dependencies: ["ElaWire", "ElaTestSupport"], swiftSettings: swiftSettings),
        .testTarget(
            name: "ElaSPVTests",
            dependencies: [
                "ElaSPV", "ElaChain", "ElaCrypto", "ElaIdentity", "ElaJSON", "ElaMerkle", "ElaP2P", "ElaSQLite", "ElaStorage", "ElaWire",
                "ElaTestSupport", .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings),
        .testTarget(name: "ElaChainTests", dependencies: ["ElaChain", "ElaWire", "ElaTestSupport"], swiftSettings: swiftSettings),
        .testTarget(
            name: "ElaP2PTests", dependencies: ["ElaP2P", "ElaWire", "ElaChain", "ElaMerkle", "ElaTestSupport"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "ElaMerkleTests", dependencies: ["ElaMerkle", "ElaWire", "ElaJSON", "ElaTestSupport", crypto],
            swiftSettings: swiftSettings),
        .testTarget(name: "ElaFileSystemTests", dependencies: ["ElaFileSystem", "ElaTestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "ElaJSONTests", dependencies: ["ElaJSON", "ElaTestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "ElaSpellingTests", dependencies: ["ElaSpelling"], swiftSettings: swiftSettings),
        .testTarget(name: "ElaTOMLTests", dependencies: ["ElaTOML", "ElaTestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "ElaCryptoTests", dependencies: ["ElaCrypto", "ElaTestSupport", crypto], swiftSettings: swiftSettings),
        .testTarget(
            name: "ElaIdentityTests", dependencies: ["ElaIdentity", "ElaCrypto", "ElaJSON", "ElaTestSupport", crypto],
            swiftSettings: swiftSettings),
        .testTarget(name: "ElaKeystoreTests", dependencies: ["ElaKeystore", "ElaSodium", "ElaTestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "ElaStorageTests", dependencies: ["ElaStorage", "ElaSQLite", "ElaTestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "ElaConfigTests", dependencies: ["ElaConfig", "ElaTOML", "ElaTestSupport"], swiftSettings: swiftSettings),
        .testTarget(
            name: "ElaPluginProtocolTests", dependencies: ["ElaPluginProtocol", "ElaJSON", "ElaTestSupport"],
            exclude: ["Fixtures"], swiftSettings: swiftSettings),
        .testTarget(
            name: "ElaPluginKitTests",
            dependencies: ["ElaPluginKit", "ElaPluginProtocol", "ElaJSON", "ElaTestSupport", "ElaPluginTestSupport"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "ElaGateTests",
            dependencies: ["ElaGate", "ElaStorage", "ElaSQLite", "ElaIdentity", "ElaCrypto", "ElaJSON", "ElaTestSupport"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "ElaGPIOTests",
            dependencies: [
                "ElaGPIO", "ElaGPIOD", "ElaPluginKit", "ElaPluginProtocol", "ElaJSON", "ElaConfig", "ElaTestSupport", "ElaPluginTestSupport",
                "ela-plugin-gpio",
            ],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "ElaSensorsTests",
            dependencies: [
                "ElaSensors", "ElaJSON", "ElaFileSystem", "ElaPluginProtocol", "ElaConfig", "ElaTestSupport", "ela-plugin-sensors",
            ],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "ElaSandboxTests", dependencies: ["ElaSandbox", "ElaJSON", "ElaTestSupport", "ela-sandbox"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "ElaPluginHostTests",
            dependencies: ["ElaPluginHost", "ElaPluginProtocol", "ElaJSON", "ElaSandbox", "ElaTestSupport", logging],
            exclude: ["Fixtures"], swiftSettings: swiftSettings),
        .testTarget(name: "ElaControlTests", dependencies: ["ElaControl", "ElaJSON", "ElaTestSupport"], swiftSettings: swiftSettings),
        .testTarget(
            name: "ElaDeviceIdentityTests",
            dependencies: ["ElaDeviceIdentity", "ElaIdentity", "ElaCrypto", "ElaKeystore", "ElaSodium", "ElaStorage", "ElaConfig", "ElaTestSupport"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "ElaDaemonTests",
            dependencies: [
                "ElaDaemon", "ElaTestSupport", "ElaStorage", "ElaIdentity", "ElaCarrier", "ElaCrypto", "ElaPluginHost", "ElaJSON",
                .product(name: "ArgumentParser", package: "swift-argument-parser"), .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "ElaLoopExecutorTests",
            dependencies: [
                "ElaLoopExecutor", .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "ElaControlServerTests",
            dependencies: [
                "ElaControlServer", "ElaControl", "ElaJSON", "ElaTestSupport", logging,
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "ElaCLITests",
            dependencies: [
                "ElaCLI", "ElaTestSupport", "elactl", "ela-agent", "ela", "ela-regtest", "ElaControl", "ElaDeviceIdentity", "ElaGate",
                "ElaIdentity", "ElaJSON", "ElaSQLite", "ela-plugin-mqtt", "ElaMosquitto", "ElaCarrier",
            ],
            exclude: ["Fixtures"], swiftSettings: swiftSettings),
        .testTarget(
            name: "ElaRegtestTests",
            dependencies: [
                "ElaRegtest", "ela-regtest", "ElaTestSupport", "ElaChain", "ElaMerkle", "ElaP2P", "ElaWire", "ElaJSON",
                "ElaIdentity", "ElaControl", "ElaControlServer", "ElaCrypto", logging,
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings),
    ],
    swiftLanguageModes: [.v6]
)
