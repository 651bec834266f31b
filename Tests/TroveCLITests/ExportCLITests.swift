import Foundation
import Testing
import TroveCore
import TroveTestEngines

/// `trove export customers` writes the same file as the App API's customers export (contract §7).
@Suite struct ExportCLITests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("fixtures/exports")

    @Test func exportsTheFixtureToTheExpectedFile() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/trove.sqlite"
        do {
            let database = try AppDatabase(path: path)
            let accounts = Accounts(database: database)
            _ = try await accounts.ensureDefaultAccount()
            let account = try await accounts.accountID(named: Accounts.defaultName)
            let ingestor = Ingestor(store: WriteQueue(database: database))
            for (model, file, key) in [(Model.company, "companies.json", "companies"), (.profile, "profiles.json", "profiles")] {
                let batch = try JSONParser.parse(Array(try Data(contentsOf: Self.fixtures.appendingPathComponent(file))))
                for item in batch[key]?.arrayValue ?? [] {
                    _ = try await ingestor.ingest(model, account: account, body: JSONWriter.bytes(item))
                }
            }
        }
        let request = try JSONParser.parse(Array(try Data(contentsOf: Self.fixtures.appendingPathComponent("customers.json"))))
        let attributes = (request["attributes"]?.arrayValue ?? []).compactMap(\.stringValue).joined(separator: ",")
        let output = directory + "/out.csv"
        let result = try await runTrove(["export", "customers", "--database", path, "--filter", JSONWriter.string(request["filters"]!),
                              "--attributes", attributes, "--output", output])
        #expect(result.status == 0, "\(result.errors)")
        #expect(result.output.contains("exported 3 customers"), "\(result.output)")
        var expected = String(decoding: try Data(contentsOf: Self.fixtures.appendingPathComponent("customers.csv")), as: UTF8.self)
        for (uid, id) in [("u-1", 1), ("u-2", 2), ("ünï", 5)] { expected = expected.replacingOccurrences(of: "{cio:\(uid)}", with: PublicID.encode(Int64(id))) }
        #expect(String(decoding: try Data(contentsOf: URL(fileURLWithPath: output)), as: UTF8.self) == expected)

        let refused = try await runTrove(["export", "customers", "--database", path, "--filter", #"{"attribute":{"field":"plan","operator":"like"}}"#, "--output", directory + "/bad.csv"])
        #expect(refused.status != 0)
        #expect(refused.errors.contains("filters.attribute.operator: unknown operator \"like\""), "\(refused.errors)")
        #expect(!FileManager.default.fileExists(atPath: directory + "/bad.csv") && !FileManager.default.fileExists(atPath: directory + "/bad.csv.partial"))
    }
}
