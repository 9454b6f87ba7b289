// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "desk",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "desk", targets: ["desk"]),
        .executable(name: "desk-baseline", targets: ["desk-baseline"]),
        .executable(name: "ledger-baseline", targets: ["ledger-baseline"]),
        .executable(name: "alpaca-double", targets: ["alpaca-double"]),
        .executable(name: "desk-sandbox", targets: ["desk-sandbox"]),
        .executable(name: "lockstep-floor", targets: ["lockstep-floor"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-protobuf.git", exact: "1.39.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.6.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket.git", from: "2.8.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth.git", from: "2.5.0"),
    ],
    targets: [
        .target(name: "DeskCore"),
        .target(
            name: "DeskProto",
            dependencies: [.product(name: "SwiftProtobuf", package: "swift-protobuf")]
        ),
        .target(
            name: "DeskLedger",
            dependencies: [
                "DeskCore",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "DeskBroker",
            dependencies: [
                "DeskCore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "DeskOrders",
            dependencies: [
                "DeskCore", "DeskLedger", "DeskBroker",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "DeskMarketData",
            dependencies: [
                "DeskCore",
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(name: "SandboxSpec"),
        .target(name: "CDeskSandbox"),
        .executableTarget(name: "desk-sandbox", dependencies: ["SandboxSpec", "CDeskSandbox"]),
        .target(
            name: "DeskRunner",
            dependencies: [
                "CDeskSandbox", "DeskCore", "DeskMarketData", "SandboxSpec",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(name: "MessagePack"),
        // Alpaca's stream messages as a server sends them (pure): the double and the desk's /v2 share them.
        .target(name: "AlpacaProtocol", dependencies: ["DeskCore", "MessagePack"]),
        .target(name: "DeskBacktest", dependencies: ["DeskCore"]),
        // A strategy's way between venues: promotion requests, officers' approvals, the loss rules that bring it back (pure).
        .target(name: "DeskPromotion", dependencies: ["DeskCore"]),
        .target(name: "DeskResearch", dependencies: ["DeskCore", "DeskBacktest"]),
        // The backtest engine: a desk of its own on the data's clock, its strategies in lockstep.
        .target(
            name: "DeskBacktestEngine",
            dependencies: [
                "DeskApp", "DeskBacktest", "DeskBroker", "DeskCore", "DeskLedger", "DeskMarketData", "DeskRunner",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "AlpacaData",
            dependencies: [
                "DeskCore", "DeskMarketData", "MessagePack",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "AlpacaBroker",
            dependencies: [
                "DeskCore", "DeskBroker", "AlpacaData",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "AlpacaDouble",
            dependencies: [
                "DeskCore", "DeskMarketData", "MessagePack", "AlpacaProtocol",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "alpaca-double",
            dependencies: [
                "AlpacaDouble",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .target(name: "DeskAPI", dependencies: ["DeskCore"]),
        // The use cases every face translates (trading, strategies, portfolio, administration).
        .target(
            name: "DeskServices",
            dependencies: [
                "DeskCore", "DeskAPI", "DeskIdentity", "DeskLedger", "DeskOrders", "DeskBroker", "DeskMarketData",
                "DeskRunner", "DeskPromotion", "DeskBacktest", "DeskResearch",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(name: "DeskIdentity", dependencies: ["DeskCore", "DeskLedger"]),
        .target(
            name: "DeskHTTP",
            dependencies: [
                "DeskCore", "DeskAPI", "DeskProto", "DeskIdentity", "DeskServices", "DeskBroker", "DeskMarketData",
                "DeskRunner", "DeskPromotion", "AlpacaProtocol", "MessagePack",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdAuth", package: "hummingbird-auth"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "DeskApp",
            dependencies: [
                "DeskCore", "DeskAPI", "DeskHTTP", "DeskIdentity", "DeskServices", "DeskOrders", "DeskLedger",
                "DeskBroker", "DeskMarketData", "DeskRunner", "DeskPromotion", "AlpacaBroker", "AlpacaData",
                "DeskResearch",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "DeskClient",
            dependencies: [
                "DeskProto", "DeskAPI",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .target(
            name: "DeskCLI",
            dependencies: [
                "DeskCore", "DeskAPI", "DeskApp", "DeskHTTP", "DeskClient", "DeskIdentity", "DeskServices",
                "DeskRunner",
                "DeskBroker", "DeskBacktest", "DeskBacktestEngine", "DeskMarketData", "DeskResearch",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "desk",
            dependencies: [
                "DeskCLI", "DeskApp", "DeskAPI", "DeskCore", "DeskBroker", "DeskBacktestEngine", "DeskRunner",
                "DeskResearch",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(name: "lockstep-floor", dependencies: ["DeskRunner", "DeskMarketData", "DeskCore"]),
        .executableTarget(
            name: "ledger-baseline",
            dependencies: ["DeskLedger", "DeskCore"]
        ),
        .executableTarget(
            name: "desk-baseline",
            dependencies: [
                "DeskProto",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Test helpers with none of the desk's modules: folders, loggers, waiting, real processes and sockets.
        .target(
            name: "DeskTestSupport",
            dependencies: [.product(name: "Logging", package: "swift-log")],
            path: "Tests/DeskTestSupport"
        ),
        // A whole desk in the test process.
        .target(
            name: "DeskAppTestSupport",
            dependencies: ["DeskApp", "DeskLedger", "DeskTestSupport"],
            path: "Tests/DeskAppTestSupport"
        ),
        .testTarget(name: "DeskCoreTests", dependencies: ["DeskCore"]),
        .testTarget(name: "DeskAPITests", dependencies: ["DeskAPI", "DeskCore"]),
        .testTarget(
            name: "DeskLedgerTests",
            dependencies: ["DeskLedger", "DeskTestSupport", .product(name: "GRDB", package: "GRDB.swift")]
        ),
        .testTarget(
            name: "DeskBrokerTests",
            dependencies: ["DeskBroker", "DeskCore", .product(name: "Logging", package: "swift-log")]
        ),
        .testTarget(name: "DeskOrdersTests", dependencies: ["DeskOrders", "DeskLedger", "DeskBroker", "DeskCore"]),
        .testTarget(
            name: "DeskServicesTests",
            dependencies: [
                "DeskServices", "DeskOrders", "DeskLedger", "DeskBroker", "DeskIdentity", "DeskCore", "DeskPromotion",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(name: "DeskMarketDataTests", dependencies: ["DeskMarketData", "DeskTestSupport"]),
        .testTarget(name: "MessagePackTests", dependencies: ["MessagePack"]),
        .testTarget(name: "SandboxSpecTests", dependencies: ["SandboxSpec"]),
        .testTarget(name: "DeskBacktestTests", dependencies: ["DeskBacktest", "DeskCore"]),
        .testTarget(name: "DeskPromotionTests", dependencies: ["DeskPromotion", "DeskCore"]),
        .testTarget(
            name: "DeskResearchTests", dependencies: ["DeskResearch", "DeskBacktest", "DeskCore", "DeskTestSupport"]),
        .testTarget(
            name: "AlpacaTests",
            dependencies: [
                "AlpacaBroker", "AlpacaData", "AlpacaDouble", "AlpacaProtocol", "DeskBroker", "DeskMarketData",
                "MessagePack", "DeskTestSupport", "DeskAppTestSupport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
            ]
        ),
        .testTarget(name: "DeskRunnerTests", dependencies: ["DeskRunner", "DeskMarketData", "DeskCore", "DeskTestSupport"]),
        .testTarget(
            name: "DeskHTTPTests",
            dependencies: [
                "DeskHTTP", "DeskApp", "DeskAppTestSupport", "DeskTestSupport", "DeskProto", "DeskCore", "DeskLedger",
                "DeskIdentity", "DeskMarketData", "DeskRunner", "DeskServices", "DeskBroker", "AlpacaProtocol",
                "MessagePack",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ]
        ),
        .testTarget(
            name: "DeskAppTests",
            dependencies: [
                "DeskApp", "DeskAppTestSupport", "DeskTestSupport", "DeskHTTP", "DeskIdentity", "DeskLedger",
                "DeskProto", "DeskRunner", "DeskBroker", "DeskCore", "DeskPromotion", "AlpacaBroker", "AlpacaDouble",
                "DeskServices",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
            ]
        ),
        .testTarget(
            name: "DeskCLITests",
            dependencies: [
                "DeskCLI", "DeskApp", "DeskAppTestSupport", "DeskHTTP", "DeskIdentity", "DeskLedger", "DeskCore",
                "DeskTestSupport",
            ]
        ),
    ]
)
