// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "pgmend",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "pgmend", targets: ["pgmend"]),
        .library(name: "MendKit", targets: ["MendKit"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        // SHA-256 of plans (the journal records which plan ran) and of archives.
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.0"),
    ],
    targets: [
        // libpq, the PostgreSQL client library, as a system library. Only PostgresClient imports it.
        .systemLibrary(
            name: "CLibPQ",
            pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"]), .brew(["libpq"])]
        ),
        .target(name: "PostgresClient", dependencies: ["CLibPQ"]),
        // zlib, for archives: gzip files that plain gunzip and psql can restore.
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"]), .brew(["zlib"])]),
        // libdeflate, for writing archives: whole-buffer gzip members, compressed and checked
        // in about two thirds of zlib's time at level 1 (docs/performance.md, issue 24).
        .systemLibrary(name: "CDeflate", pkgConfig: "libdeflate", providers: [.apt(["libdeflate-dev"]), .brew(["libdeflate"])]),
        .target(name: "SchemaModel"),
        // Child processes and local PostgreSQL servers of one's own: the scratch server for
        // expected schemas, and the test harness's cluster.
        .target(name: "LocalServer"),
        .target(
            name: "MendKit",
            dependencies: [
                "PostgresClient", "SchemaModel", "CZlib", "CDeflate", "LocalServer",
                .product(name: "Yams", package: "Yams"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .target(name: "MendTestSupport", dependencies: ["PostgresClient", "LocalServer"]),
        .executableTarget(
            name: "pgmend",
            dependencies: [
                "MendKit", "PostgresClient",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(
            name: "PostgresClientTests",
            dependencies: ["PostgresClient", "MendTestSupport"]
        ),
        .testTarget(name: "SchemaModelTests", dependencies: ["SchemaModel"]),
        .testTarget(
            name: "MendKitTests",
            dependencies: ["MendKit", "SchemaModel", "MendTestSupport", "PostgresClient"],
            exclude: ["Fixtures"]
        ),
        .testTarget(
            name: "pgmendTests",
            dependencies: ["pgmend", "MendTestSupport", "PostgresClient", "SchemaModel"],
            exclude: ["Fixtures"]
        ),
        // Every step kind through the built binary: dry run, apply, second run, rehearsal,
        // killed between and inside its effects. Driven by the step registry.
        .testTarget(
            name: "ConformanceTests",
            dependencies: ["pgmend", "MendTestSupport", "PostgresClient", "SchemaModel", "MendKit"],
            exclude: ["Fixtures"]
        ),
    ]
)
