// swift-tools-version: 6.1
import Foundation
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
]

/// Trove's own code (Sources/, OpenAPI/, Migrations/) builds without warnings: CI sets
/// TROVE_WARNINGS_AS_ERRORS=1, which makes any warning there an error (dependencies are not affected).
let sourceSettings: [SwiftSetting] =
    swiftSettings + (ProcessInfo.processInfo.environment["TROVE_WARNINGS_AS_ERRORS"] == "1" ? [.unsafeFlags(["-warnings-as-errors"])] : [])

let package = Package(
    name: "Trove",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "trove", targets: ["trove"]),
        .library(name: "TroveCore", targets: ["TroveCore"]),
        .library(name: "TroveServer", targets: ["TroveServer"]),
    ],
    dependencies: [
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.4.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/adam-fowler/compress-nio", from: "1.5.0"),
    ],
    targets: [
        .target(
            name: "TroveMigrations",
            path: "Migrations",
            exclude: ["postgres"],
            resources: [.embedInCode("0001_initial.sql"), .embedInCode("0002_event_rollups.sql"), .embedInCode("0003_segments.sql"), .embedInCode("0004_event_name_indexes.sql"), .embedInCode("0005_exports.sql"), .embedInCode("0006_anonymous_events.sql"), .embedInCode("0007_integrations.sql"), .embedInCode("0008_webhooks.sql"), .embedInCode("0009_customerio_destination.sql"), .embedInCode("0010_event_counts.sql"), .embedInCode("0011_report_indexes.sql"), .embedInCode("0012_admin_sessions.sql"), .embedInCode("0013_report_steps.sql"), .embedInCode("0014_event_counts_watermark.sql"), .embedInCode("0015_report_step_builds.sql"), .embedInCode("0016_anonymous_event_counts.sql"), .embedInCode("0017_person_chain.sql"), .embedInCode("0018_deletions.sql"), .embedInCode("0019_write_keys.sql"), .embedInCode("0020_report_step_profiles.sql"), .embedInCode("0021_event_counts_daily.sql"), .embedInCode("0022_event_recency.sql")],
            swiftSettings: sourceSettings
        ),
        .target(
            name: "TrovePostgresMigrations",
            path: "Migrations/postgres",
            resources: [.embedInCode("0001_initial.sql"), .embedInCode("0002_membership_marked_at.sql"), .embedInCode("0003_profile_activity_view.sql"), .embedInCode("0004_membership_marks.sql"), .embedInCode("0005_event_count_deltas.sql"), .embedInCode("0006_id_blocks.sql"), .embedInCode("0007_write_keys.sql"), .embedInCode("0008_nodes.sql"), .embedInCode("0009_export_parts.sql")],
            swiftSettings: sourceSettings
        ),
        .target(
            name: "TroveOpenAPI",
            path: "OpenAPI",
            resources: [.embedInCode("openapi.yaml")],
            swiftSettings: sourceSettings
        ),
        .target(
            name: "TroveCore",
            dependencies: [
                "TroveMigrations",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: sourceSettings
        ),
        .target(
            name: "TrovePostgres",
            dependencies: [
                "TroveCore",
                "TrovePostgresMigrations",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                // The pool's own errors (a server that cannot be reached for a while), told apart as 503s.
                .product(name: "_ConnectionPoolModule", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: sourceSettings
        ),
        .target(
            name: "TroveServer",
            dependencies: [
                "TroveCore",
                "TroveOpenAPI",
                .product(name: "Yams", package: "Yams"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                // gzip request bodies (Segment-spec SDKs send them).
                .product(name: "CompressNIO", package: "compress-nio"),
            ],
            swiftSettings: sourceSettings
        ),
        .target(
            name: "TroveBench",
            dependencies: ["TroveCore", "TrovePostgres", .product(name: "GRDB", package: "GRDB.swift"), .product(name: "PostgresNIO", package: "postgres-nio")],
            swiftSettings: sourceSettings
        ),
        .executableTarget(
            name: "trove",
            dependencies: [
                "TroveCore",
                "TroveServer",
                "TrovePostgres",
                "TroveBench",
                "TroveOpenAPI",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: sourceSettings
        ),
        .testTarget(
            name: "TroveCoreTests",
            dependencies: ["TroveCore", "TroveTestEngines"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TroveCLITests",
            dependencies: [
                "trove",
                "TroveBench",
                "TroveCore",
                "TrovePostgres",
                "TroveTestEngines",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            swiftSettings: swiftSettings
        ),
        // What the test targets share: the engines a parameterized test runs on (SQLite, and PostgreSQL when
        // TROVE_TEST_POSTGRES names a server).
        .target(
            name: "TroveTestEngines",
            dependencies: [
                "TroveCore", "TrovePostgres", .product(name: "PostgresNIO", package: "postgres-nio"), .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/TroveTestEngines",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TrovePostgresTests",
            dependencies: [
                "TroveTestEngines",
                "TrovePostgres",
                "TroveCore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TroveServerTests",
            dependencies: [
                "TroveServer",
                "TroveCore",
                "TroveTestEngines",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "CompressNIO", package: "compress-nio"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
