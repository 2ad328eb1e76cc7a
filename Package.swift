// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "pahlawan-trust",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "pahlawan", targets: ["pahlawan"]),
        .library(name: "Ledger", targets: ["Ledger"]),
        .library(name: "Rescue", targets: ["Rescue"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/x-sheep/swift-property-based.git", from: "2.0.1"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/vapor/jwt-kit.git", from: "5.8.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
    ],
    targets: [
        .systemLibrary(
            name: "CSodium",
            pkgConfig: "libsodium",
            providers: [.apt(["libsodium-dev"])]
        ),
        // CRC-32C with the CPU's instruction, which Swift cannot emit.
        .target(name: "CChecksum"),
        .target(
            name: "Ledger",
            dependencies: ["CChecksum", "CSodium"]
        ),
        .systemLibrary(
            name: "CLibpq",
            pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"])]
        ),
        // The Postgres mirror (issue 6): a projection of the ledger through libpq, and the reports
        // by SQL (their shape, `Report`, is Compliance's, so both sources answer alike).
        .target(
            name: "Mirror",
            dependencies: ["CLibpq", "Ledger", "Compliance"]
        ),
        // The domain: pure state machines, no I/O, no clock, no randomness (all are arguments).
        .target(name: "Rescue"),
        // Policies (YAML, validated), and later the PII vault, masking and reports.
        .target(
            name: "Compliance",
            dependencies: ["CSodium", "Ledger", "Rescue", .product(name: "Yams", package: "Yams")]
        ),
        // The application: the command loop that runs commands through the engines into the ledger.
        .target(
            name: "Core",
            dependencies: ["Ledger", "Rescue", "Compliance"]
        ),
        // Trust beyond our key (issue 15): the C2SP witness (server), the log's witness client
        // and the monitor. Depends on the Ledger (and HTTPEdge) only, so an outside party runs it
        // without the rest.
        .target(
            name: "Witness",
            dependencies: [
                "Ledger", "HTTPEdge",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        // What every HTTP server of ours puts in front of its routes (the service's and the
        // witness's): the problem+json answer to bytes that are not HTTP/1.1.
        .target(
            name: "HTTPEdge",
            dependencies: [
                "Ledger",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ]
        ),
        // HTTP: routes, auth, problem+json errors, limits, metrics and logs (Hummingbird 2,
        // jwt-kit, swift-log, swift-metrics with swift-prometheus).
        .target(
            name: "Server",
            dependencies: [
                "Core", "Compliance", "Ledger", "Rescue", "Mirror", "Witness", "HTTPEdge",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                // ArrivalStamp, a channel handler on HTTP parts.
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                // The auditor console (issue 18): pages from Mustache templates, strings from YAML.
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "Yams", package: "Yams"),
            ],
            // Shipped with the binary, so a deployed service serves the pages that were reviewed.
            resources: [.copy("Console/Templates"), .copy("Console/Assets"), .copy("Console/Strings")]
        ),
        .executableTarget(
            name: "pahlawan",
            dependencies: [
                "Ledger",
                "Rescue",
                "Compliance",
                "Core",
                "Server",
                "Mirror",
                "Witness",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                // `serve` runs Swift concurrency on NIO's event loops.
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                // The open-loop load generator of `bench http`.
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
        .testTarget(
            name: "ServerTests",
            dependencies: [
                "Server", "Core", "Ledger", "Rescue", "Compliance", "Mirror", "Witness",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        // The monitor against real ledgers served over loopback HTTP (the service's own routes,
        // and a router that tampers with them).
        .testTarget(
            name: "MonitorTests",
            dependencies: [
                "Witness", "Ledger", "Server", "Core", "Compliance",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ]
        ),
        // Needs a PostgreSQL server: `make test` starts a throwaway one (.ci/with-postgres).
        .testTarget(
            name: "MirrorTests",
            dependencies: ["Mirror", "Core", "Ledger", "Rescue", "Compliance"]
        ),
        .testTarget(
            name: "CoreTests",
            dependencies: [
                "Core", "Ledger", "Rescue", "Compliance",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ]
        ),
        .testTarget(
            name: "ComplianceTests",
            dependencies: ["Compliance", "Ledger", "Rescue"]
        ),
        .testTarget(
            name: "RescueTests",
            dependencies: [
                "Rescue",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ]
        ),
        // The witness as an outside party sees it (issue 15): every add-checkpoint answer through
        // the real router, split views, rollbacks, restarts, a crash between store and reply.
        .testTarget(
            name: "WitnessTests",
            dependencies: [
                "Witness", "Ledger",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "PropertyBased", package: "swift-property-based"),
            ]
        ),
        .testTarget(
            name: "LedgerTests",
            dependencies: [
                "Ledger",
                "Rescue",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ]
        ),
    ]
)
