import AsyncHTTPClient
import TroveTestEngines
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import NIOHTTP1
import Testing
import TroveBench
import TroveCore

func temporaryDirectory() throws -> String {
    let path = FileManager.default.temporaryDirectory.path + "/trove-cli-test-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// The `trove` binary SwiftPM built beside this test bundle (`swift test` builds every product).
func troveExecutable() throws -> String {
    let me = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    var directory = URL(fileURLWithPath: me).deletingLastPathComponent()
    if directory.lastPathComponent == "MacOS" {  // a macOS .xctest bundle
        directory = directory.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }
    let candidate = directory.appendingPathComponent("trove").path
    guard FileManager.default.isExecutableFile(atPath: candidate) else {
        throw BenchError("no trove executable at \(candidate); run `swift build` first")
    }
    return candidate
}

/// Runs the `trove` binary with `arguments`; its exit status, standard output and standard error. Waits on
/// a thread of its own (`onOwnThread`): a child runs for seconds.
func runTrove(_ arguments: [String]) async throws -> (status: Int32, output: String, errors: String) {
    let executable = try troveExecutable()
    return try await onOwnThread { try ChildProcess.run(executable, arguments) }
}

/// One JSON call to a `trove serve` child process with the account secret (`/v3` routes, hooks).
func callTrove(_ http: HTTPClient, _ server: ServerProcess, _ method: HTTPMethod, _ path: String, _ body: JSON) async throws -> JSON {
    var request = HTTPClientRequest(url: "http://127.0.0.1:\(server.port)\(path)")
    request.method = method
    request.headers.add(name: "X-Account-Secret", value: server.accountSecret)
    request.body = .bytes(ByteBuffer(bytes: JSONWriter.bytes(body)))
    let response = try await http.execute(request, timeout: .seconds(30))
    return try JSONParser.parse(Array(try await response.body.collect(upTo: 1 << 20).readableBytesView))
}

/// Runs `body` with `router` served live on a loopback port (a receiver of webhooks or Customer.io calls) and
/// a temporary directory removed afterwards.
func withLiveReceiver(_ router: Router<BasicRequestContext>, _ body: @escaping @Sendable (_ port: Int, _ directory: String) async throws -> Void)
    async throws
{
    let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)), logger: Logger(label: "receiver"))
    try await app.test(.live) { client in
        let port = try #require(client.port)
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try await body(port, directory)
    }
}
