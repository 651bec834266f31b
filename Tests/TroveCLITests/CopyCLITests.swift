import Foundation
import Testing
import TroveBench
import TroveCore
import TroveTestEngines

/// `trove copy` (issue 19, "Moving a database"): a SQLite database made with the generator and `import` is
/// copied to PostgreSQL in two sittings (the first stopped part-way), verified, copied back to a new SQLite
/// file, and all three answer the same reads.
@Suite(.enabled(if: TestPostgres.available, "needs PostgreSQL (TROVE_TEST_POSTGRES)"))
struct CopyCLITests {
    @Test func aDatabaseCopiedToPostgresAndBackAnswersAsTheOriginal() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let manifest = try ReferenceDataSet(seed: 5, size: .init(profiles: 300, companies: 12, events: 4_000)).write(to: directory)
        let now = manifest.now.iso8601
        let original = directory + "/original.sqlite"
        #expect(try await runTrove(["accounts", "create", "default", "--database", original]).status == 0)
        #expect(try await runTrove(["accounts", "create", "second", "--database", original]).status == 0)
        for model in ["companies", "profiles", "events"] {
            let imported = try await runTrove(["import", "--database", original, "--model", model, "--now", now, directory + "/\(model).ndjson"])
            try #require(imported.status == 0, "\(imported.errors)")
        }
        let other = directory + "/other.ndjson"
        try #"{"uid":"solo","name":"Signed Up","timestamp":"2026-01-02T03:04:05Z","plan":"free","nested":{"b":1,"a":[1,2.5,"x"]}}"#
            .write(toFile: other, atomically: true, encoding: .utf8)
        #expect(try await runTrove(["import", "--database", original, "--account", "second", "--model", "events", "--now", now, other]).status == 0)
        let reference = ReferenceDataSet.referenceSegment
        let created = try await runTrove([
            "segments", "create", "--database", original, "--now", now, "--name", "Reference",
            "--items", JSONWriter.string(reference["items"]!),
        ])
        try #require(created.status == 0, "\(created.errors)")
        let forgot = try await runTrove(["forget", "--database", original, "--uid", "solo", "--account", "second"])
        #expect(forgot.status == 0, "\(forgot.errors)")

        let postgres = try await TestPostgres.createDatabase(migrated: false)
        let url = TestPostgres.url(of: postgres.location.database)
        await postgres.close()
        defer { Task { try? await TestPostgres.drop(postgres.location.database) } }

        // Interrupted after a few batches, then run again: it goes on where the copy's rows end.
        let first = try await runTrove(["copy", "--from", original, "--to", url, "--batch-size", "200", "--batches", "6"])
        try #require(first.status == 0, "\(first.errors)")
        #expect(first.output.contains("stopped after 6 batches"))
        let second = try await runTrove(["copy", "--from", original, "--to", url, "--batch-size", "200"])
        try #require(second.status == 0, "\(second.errors)")
        #expect(second.output.contains("verified"), "\(second.output)")
        #expect(!second.output.contains("copied 0 rows"))

        // A copy into a database that holds another one's accounts is refused.
        let elsewhere = directory + "/elsewhere.sqlite"
        #expect(try await runTrove(["accounts", "create", "someone", "--database", elsewhere]).status == 0)
        let refused = try await runTrove(["copy", "--from", url, "--to", elsewhere])
        #expect(refused.status != 0 && refused.errors.contains("not empty"), "\(refused.errors)")

        let back = directory + "/back.sqlite"
        let returned = try await runTrove(["copy", "--from", url, "--to", back])
        try #require(returned.status == 0, "\(returned.errors)")
        #expect(returned.output.contains("verified"))

        // The same reads on all three.
        func reads(_ database: String) async throws -> [String] {
            let commands: [[String]] = [
                ["segments", "list", "--json"],
                ["events", "--uid", "user-1", "--format", "json"],
                ["events", "--uid", "user-2", "--format", "json", "--limit", "5"],
                ["report", "events", "--format", "json", "--now", now],
                ["report", "segment-history", "1", "--format", "json", "--now", now],
                ["accounts", "list"],
            ]
            var outputs: [String] = []
            for command in commands {
                let result = try await runTrove(command + ["--database", database])
                #expect(result.status == 0, "\(command): \(result.errors)")
                outputs.append(result.output)
            }
            return outputs
        }
        let expected = try await reads(original)
        #expect(expected[1].contains("\"events\""))
        for (database, name) in [(url, "PostgreSQL"), (back, "SQLite again")] {
            for (a, b) in zip(expected, try await reads(database)) {
                #expect(sameJSONLines(a, b), "\(name) answers differently:\n\(a)\nvs\n\(b)")
            }
        }

        // The copy goes on where the original left off: new rows take new ids.
        let more = directory + "/more.ndjson"
        try #"{"uid":"user-1","name":"Came Back","timestamp":"2026-01-03T00:00:00Z"}"#.write(toFile: more, atomically: true, encoding: .utf8)
        for database in [url, back] {
            let result = try await runTrove(["import", "--database", database, "--model", "events", "--now", now, more])
            #expect(result.status == 0, "\(database): \(result.errors)")
        }
    }

    /// Outputs equal line by line, JSON lines by meaning (PostgreSQL keeps object members in its own order).
    private func sameJSONLines(_ a: String, _ b: String) -> Bool {
        let (x, y) = (a.split(separator: "\n"), b.split(separator: "\n"))
        return x.count == y.count && zip(x, y).allSatisfy { l, r in
            guard let p = try? JSONParser.parse(Array(l.utf8)), let q = try? JSONParser.parse(Array(r.utf8)) else { return l == r }
            return p.sortedKeys == q.sortedKeys
        }
    }
}

extension JSON {
    fileprivate var sortedKeys: JSON {
        switch self {
        case .object(let members): return .object(members.map { JSONMember($0.key, $0.value.sortedKeys) }.sorted { $0.key < $1.key })
        case .array(let items): return .array(items.map(\.sortedKeys))
        default: return self
        }
    }
}
