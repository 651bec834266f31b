import Foundation
import Testing
import TroveCore
import TroveTestEngines

/// `trove events` and `trove forget` (contract §5) on a database `trove import` filled: a timeline page by
/// page, then an erasure that leaves none of the person's values in the file.
@Suite struct PersonCLITests {
    @Test func eventsPagesATimelineAndForgetErasesThePerson() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let database = directory + "/trove.sqlite"
        #expect(try await runTrove(["accounts", "create", "default", "--database", database]).status == 0)
        var lines: [String] = []
        for i in 0..<30 {
            lines.append(#"{"uid":"ann","name":"Clicked","timestamp":\#(1_772_000_000 + i),"n":\#(i),"note":"Marmalade-Falcon-\#(i)"}"#)
            lines.append(#"{"uid":"bob","name":"Clicked","timestamp":\#(1_772_000_000 + i)}"#)
        }
        let file = directory + "/events.ndjson"
        try lines.joined(separator: "\n").write(toFile: file, atomically: true, encoding: .utf8)
        let imported = try await runTrove(["import", "--database", database, "--model", "events", file])
        #expect(imported.status == 0, "\(imported.errors)")

        let first = try await runTrove(["events", "--database", database, "--uid", "ann", "--limit", "20", "--format", "json"])
        #expect(first.status == 0, "\(first.errors)")
        let page = try JSONParser.parse(Array(first.output.utf8))
        let ns = (page["events"]?.arrayValue ?? []).compactMap { e -> Int64? in
            if case .int(let n)? = e["properties"]?["n"] { return n }
            return nil
        }
        #expect(ns == Array((10..<30).reversed()).map(Int64.init))
        let cursor = try #require(page["cursor"]?["before"]?.stringValue)
        let rest = try await runTrove(["events", "--database", database, "--uid", "ann", "--before", cursor])
        #expect(rest.status == 0 && rest.output.contains("Marmalade-Falcon-9") && !rest.output.contains("Marmalade-Falcon-10\""))
        #expect(try await runTrove(["events", "--database", database, "--uid", "ann", "--limit", "0"]).status != 0)

        let forgot = try await runTrove(["forget", "--database", database, "--uid", "ann"])
        #expect(forgot.status == 0, "\(forgot.errors)")
        #expect(try JSONParser.parse(Array(forgot.output.utf8)).at("deletion.counts.events") == 30)
        let again = try await runTrove(["forget", "--database", database, "--uid", "ann"])
        #expect(again.status != 0 && again.errors.contains("no profile with uid \"ann\""))
        #expect(try await runTrove(["events", "--database", database, "--uid", "ann"]).status != 0)
        let listed = try await runTrove(["forget", "--database", database, "--list"])
        #expect(listed.output.contains("\"source\":\"cli\"") && !listed.output.contains("ann"))
        let bytes = try Data(contentsOf: URL(fileURLWithPath: database))
        #expect(bytes.range(of: Data("Marmalade-Falcon".utf8)) == nil)
        #expect(try await runTrove(["check", "--database", database]).status == 0)
    }
}

extension JSON {
    func at(_ path: String) -> JSON? {
        path.split(separator: ".").reduce(Optional(self)) { value, key in value?[String(key)] }
    }
}
