// swift-tools-version:6.0
import PackageDescription

// Dependencies, and why each is here (README.md "Dependencies" says the same):
// - swift-argument-parser: the `ferry` command line (subcommands, usage errors, exit code 64).
// - Yams: `ferry.yaml` is YAML; Yams gives node line numbers for `ferry.yaml:LINE: error:` messages.
// - OpenSSL's libcrypto (system, libssl-dev; not a package): SHA-256 for manifests and receipts, MD5 for WDT
//   signatures, HMAC-SHA256 for Kingdee. swift-crypto compiled a second BoringSSL (swift-nio-ssl has one) into
//   every build; see README.md "Dependencies".
// - swift-log: structured logs of the pipeline (`--log-level`), separate from diagnostics and progress.
// - async-http-client: both clients' HTTP (SwiftNIO): URLSession on Linux spends ~45% of the load's client CPU
//   in libcurl/libdispatch, ignores target.insecure_tls, rounds timeouts up to whole seconds, and its
//   FoundationNetworking brings libcurl and ~25 more shared libraries into every start of `ferry` (~8 ms).
// - swift-nio (already built for async-http-client): the sandboxes' small loopback HTTP/1.1 server.
let package = Package(
    name: "ferry",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "ferry", targets: ["ferry"]),
        .executable(name: "ferry-bench", targets: ["ferry-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        // Already in the graph through async-http-client; named because the clients and the sandbox server use their types.
        .package(url: "https://github.com/apple/swift-nio", from: "2.81.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.30.0"),
    ],
    targets: [
        // libxml2 through pkg-config; imported by FerryTemplate only.
        .systemLibrary(
            name: "CLibXML2",
            pkgConfig: "libxml-2.0",
            providers: [.apt(["libxml2-dev"])]
        ),
        // OpenSSL's libcrypto through pkg-config; imported by FerryCore's Hashing only.
        .systemLibrary(
            name: "COpenSSL",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"]), .brew(["openssl@3"])]
        ),
        // Values every stage shares: Diagnostic, JSON reader/writer, exact decimals, hashing, atomic files.
        .target(name: "FerryCore", dependencies: ["COpenSSL"]),
        // XML mapping templates: parsing, XSD validation, semantic checks. The only importer of CLibXML2.
        .target(name: "FerryTemplate", dependencies: ["FerryCore", "FerrySchemes", "CLibXML2"]),
        // The built-in schemes (the files under Templates/), embedded as resources.
        .target(
            name: "FerrySchemes",
            path: "Templates",
            exclude: ["README.md"],
            sources: ["BuiltInSchemes.swift"],
            resources: [
                .copy("ferry-scheme-1.xsd"),
                .copy("wdt-stockin-to-kingdee-other-inbound.xml"),
                .copy("lookups"),
            ]
        ),
        // Pure transform: WDT stock-in orders + template -> Kingdee payloads. No networking, no files.
        .target(name: "FerryTransform", dependencies: ["FerryCore", "FerryTemplate"]),
        // Workspaces, ferry.yaml, run directories, locks, manifests: the one owner of the file system.
        .target(
            name: "FerryWorkspace",
            dependencies: ["FerryCore", "FerryTemplate", "FerryTransform", "FerrySchemes", "Yams"]
        ),
        // The WDT (旺店通·企业奇门) source client: signatures, paging, window planner. Networking lives here.
        .target(
            name: "FerryWDT",
            dependencies: [
                "FerryCore", "FerryHTTP", .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        // The Kingdee (金蝶云星空) target client: auth, BatchSave, ExecuteBillQuery. Networking lives here.
        .target(
            name: "FerryKingdee",
            dependencies: [
                "FerryCore", "FerryHTTP", .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        // What both clients share about HTTP: the AsyncHTTPClient set-up, an answer's body read by a deadline,
        // proxies from the environment, TLS failures no retry mends.
        .target(
            name: "FerryHTTP",
            dependencies: [
                .product(name: "AsyncHTTPClient", package: "async-http-client"), .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        // The small loopback HTTP/1.1 server (SwiftNIO) under both sandboxes.
        .target(
            name: "SandboxHTTP",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),
        // Loopback sandbox servers, used by tests, `ferry demo` and `ferry sandbox`.
        .target(name: "WDTSandbox", dependencies: ["FerryCore", "FerryWDT", "SandboxHTTP"]),
        .target(name: "KingdeeSandbox", dependencies: ["FerryCore", "FerryKingdee", "SandboxHTTP"]),
        // The whole pipeline: stage settings from ferry.yaml, `ferry run`, the run overview and report,
        // the demo and the sandbox pair. Composes the stages; holds no stage logic of its own.
        .target(
            name: "FerryPipeline",
            dependencies: [
                "FerryCore", "FerryHTTP", "FerryTemplate", "FerryTransform", "FerryWorkspace", "FerryWDT", "FerryKingdee",
                "WDTSandbox", "KingdeeSandbox", .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The thin command line.
        .executableTarget(
            name: "ferry",
            dependencies: [
                "FerryCore", "FerryTemplate", "FerryTransform", "FerryWorkspace", "FerrySchemes",
                "FerryWDT", "FerryKingdee", "WDTSandbox", "KingdeeSandbox", "FerryPipeline",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            // `--static-swift-stdlib` links with `-export-dynamic`, which puts ~34,000 symbols of the
            // package's own modules in the dynamic symbol table. Nothing looks them up, but the runtime's
            // start-up `dladdr` walks them all: ~0.7 ms of every run (BENCHMARKS.md, *The fixed cost of every run*).
            linkerSettings: [.unsafeFlags(["-Xlinker", "--no-export-dynamic"], .when(platforms: [.linux]))]
        ),

        // Benchmark helpers for Scripts/bench.sh (corpus generation, load and extract against the sandboxes).
        .executableTarget(
            name: "ferry-bench",
            dependencies: [
                "FerryCore", "FerryWDT", "FerryKingdee", "WDTSandbox", "KingdeeSandbox",
                // The parse benchmark reads with the built-in scheme's key set, as the transform does.
                "FerryTemplate", "FerryTransform", "FerrySchemes",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        // Test-only helpers: temporary directories, fixtures, running the built binary, and a TLS relay
        // (SwiftNIO, swift-nio-ssl) that puts a sandbox behind a self-signed certificate.
        .target(
            name: "FerryTestSupport",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),

        .testTarget(name: "FerryCoreTests", dependencies: ["FerryCore", "FerryTestSupport"]),
        .testTarget(name: "FerryTemplateTests", dependencies: ["FerryTemplate", "FerrySchemes", "FerryCore", "FerryTestSupport"]),
        .testTarget(name: "FerryTransformTests", dependencies: ["FerryTransform", "FerryTemplate", "FerryCore", "FerrySchemes", "FerryTestSupport"]),
        .testTarget(name: "FerryWorkspaceTests", dependencies: ["FerryWorkspace", "FerryCore", "FerryTemplate", "FerryTransform", "FerrySchemes", "FerryTestSupport"]),
        .testTarget(name: "FerryWDTTests", dependencies: ["FerryWDT", "WDTSandbox", "FerryCore", "FerryTestSupport", "ferry"]),
        .testTarget(
            name: "FerryKingdeeTests",
            dependencies: ["FerryKingdee", "KingdeeSandbox", "FerryCore", "FerryTestSupport", "ferry"]
        ),
        .testTarget(name: "FerryHTTPTests", dependencies: ["FerryHTTP", "FerryTestSupport"]),
        .testTarget(name: "SandboxHTTPTests", dependencies: ["SandboxHTTP"]),
        .testTarget(name: "FerryCLITests", dependencies: ["FerryCore", "FerryWorkspace", "FerryTestSupport", "ferry"]),
        .testTarget(
            name: "FerryPipelineTests",
            dependencies: [
                "FerryPipeline", "FerryCore", "FerryWorkspace", "FerryTemplate", "FerrySchemes", "FerryWDT", "WDTSandbox",
                "KingdeeSandbox", "FerryTestSupport", "ferry",
            ]
        ),
    ]
)

for target in package.targets where target.type != .system {
    var settings = target.swiftSettings ?? []
    settings.append(.enableUpcomingFeature("ExistentialAny"))
    target.swiftSettings = settings
}
