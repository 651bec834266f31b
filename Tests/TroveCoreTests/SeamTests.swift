import Foundation
import Testing

/// The engine seam kept by the layout: inside TroveCore only `SQLite/` may use the database library, and the
/// HTTP layer never does, so a rule that reaches for SQL fails here instead of being found in review.
@Suite struct SeamTests {
    static let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Sources")

    static func files(_ folder: String) throws -> [(path: String, text: String)] {
        let root = sources.appendingPathComponent(folder)
        let names = try FileManager.default.subpathsOfDirectory(atPath: root.path).filter { $0.hasSuffix(".swift") }
        return try names.sorted().map { ($0, try String(contentsOf: root.appendingPathComponent($0), encoding: .utf8)) }
    }

    static func usesDatabaseLibrary(_ text: String) -> Bool {
        text.split(separator: "\n").contains { line in
            let l = line.trimmingCharacters(in: .whitespaces)
            return l == "import GRDB" || l == "import GRDBSQLite" || l.hasPrefix("import SQLite3") || l.hasPrefix("@testable import GRDB")
        }
    }

    @Test func onlyTheSQLiteFolderOfTheCoreUsesTheDatabaseLibrary() throws {
        let core = try Self.files("TroveCore")
        #expect(core.count > 50, "the core's sources were found")
        let outside = core.filter { !$0.path.hasPrefix("SQLite/") && Self.usesDatabaseLibrary($0.text) }.map(\.path)
        #expect(outside.isEmpty, "rules above the seam import the database library: \(outside)")
        #expect(core.contains { $0.path.hasPrefix("SQLite/") && Self.usesDatabaseLibrary($0.text) }, "the engine is where it is expected")
    }

    @Test func theHTTPLayerNeverUsesTheDatabaseLibrary() throws {
        let server = try Self.files("TroveServer")
        #expect(!server.isEmpty)
        let using = server.filter { Self.usesDatabaseLibrary($0.text) }.map(\.path)
        #expect(using.isEmpty, "TroveServer files import the database library: \(using)")
    }
}
