import Foundation
import Testing
@testable import TroveCore

/// The customers export across many chunks of its pipeline, with every kind of column.
@Suite struct CustomerExportTests {
    /// A fresh database with its default account, and what fills it.
    struct World {
        let db: AppDatabase
        let account: Int64
        let ingestor: Ingestor
        let normalizer = ValueNormalizer(now: fixedNow)

        init() async throws {
            let base = try await AccountDatabase()
            (db, account, ingestor) = (base.db, base.account, base.ingestor)
        }

        func ingest(_ items: [Ingestor.Item]) async throws {
            _ = try await ingestor.ingest(items: items, account: account)
        }

        /// Runs `trove export customers`' path into a temporary file; the rows written and the file's text.
        func export(_ body: JSON, formulas: FormulaCells = .escape) async throws -> (rows: Int64, text: String) {
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("export-\(UUID().uuidString).csv").path
            defer { try? FileManager.default.removeItem(atPath: path) }
            let store = ExportJobs(database: db, clock: .fixed(fixedNow), settings: ExportSettings(directory: "", publicURL: "", formulas: formulas))
            let request = CustomerExportRequest(filters: body["filters"], attributes: body["attributes"]?.arrayValue?.compactMap(\.stringValue) ?? [])
            let written = try await store.writeCustomers(account: account, request, to: path)
            return (written.rows, String(decoding: try Data(contentsOf: URL(fileURLWithPath: path)), as: UTF8.self))
        }
    }

    @Test func aLargeExportKeepsEveryRowInOrder() async throws {
        let w = try await World()
        try await w.ingest(try (0..<7).map { i in
            Ingestor.Item.company(try CompanyInput.parse(["uid": .string("c\(i)"), "size": .int(Int64(i * 10))], normalizer: w.normalizer))
        })
        let count = RowChunk.capacity * 2 + 517
        try await w.ingest(try (0..<count).map { i -> Ingestor.Item in
            var fields: [JSONMember] = [JSONMember("uid", .string("u\(i)")), JSONMember("n", .int(Int64(i)))]
            if i % 3 == 0 { fields.append(JSONMember("note", .string("a, \"b\"\n\(i)"))) }
            if i % 5 != 0 { fields.append(JSONMember("company_uid", .string("c\(i % 7)"))) }
            return .profile(try ProfileInput.parse(.object(fields), normalizer: w.normalizer))
        })

        let (rows, text) = try await w.export(["attributes": ["n", "note", "created_at", "company.size", "company.uid"]])
        #expect(rows == Int64(count))

        var expected = "id,email,cio_id,n,note,created_at,company.size,company.uid\n"
        let ids = try await w.db.pool.read { db in try Int64.fetchAll(db, sql: "SELECT id FROM profiles ORDER BY id") }
        for (i, id) in ids.enumerated() {
            let note = i % 3 == 0 ? "\"a, \"\"b\"\"\n\(i)\"" : ""
            let company = i % 5 != 0 ? "\(i % 7 * 10),c\(i % 7)" : ","
            expected += "u\(i),,\(PublicID.encode(id)),\(i),\(note),\(fixedNow.iso8601),\(company)\n"
        }
        #expect(text == expected)
    }

    /// Text cells that a spreadsheet would run ("CSV injection") get a leading apostrophe, wherever they come
    /// from (uid, email, a property, a company's field, an escaped JSON string); numbers stay numbers; with
    /// `keep` every byte is as stored.
    @Test(arguments: [FormulaCells.escape, .keep]) func formulaCellsAreEscapedUnlessKept(_ formulas: FormulaCells) async throws {
        let w = try await World()
        try await w.ingest([
            .company(try CompanyInput.parse(["uid": "c1", "motto": "+1 for all"], normalizer: w.normalizer)),
            .profile(try ProfileInput.parse([
                "uid": "=HYPERLINK(\"http://x\",\"y\")", "email": "@me@example.com", "company_uid": "c1",
                "note": "-safe?", "n": -5, "tabbed": "\tx", "quoted": "=1+\"2\"",
            ], normalizer: w.normalizer)),
        ])
        let (_, text) = try await w.export(["attributes": ["note", "n", "tabbed", "quoted", "company.motto"]], formulas: formulas)
        let lines = text.split(separator: "\n")
        let id = try await w.db.pool.read { db in try Int64.fetchOne(db, sql: "SELECT id FROM profiles")! }
        let a = formulas == .escape ? "'" : ""
        #expect(lines.count == 2)
        #expect(String(lines[1]) == "\"\(a)=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\",\(a)@me@example.com,\(PublicID.encode(id)),\(a)-safe?,-5,\(a)\tx,\"\(a)=1+\"\"2\"\"\",\(a)+1 for all")
    }
}

/// A company's export fields are found by its id whether the ids are dense (an array indexed by id) or
/// spread out (a dictionary).
struct CompanyFieldsTests {
    func fields(_ ids: [Int64]) throws -> CustomerExport.CompanyFields {
        let export = try CustomerExport(CustomerExportRequest(attributes: ["company.size"]))
        let plan = export.plan(SQLiteDialect())
        var fields = CustomerExport.CompanyFields(columns: plan.companyColumns.count)
        for id in ids { fields.add(company: id, values: [.integer(id)], plan: plan, formulas: .escape) }
        fields.finish()
        return fields
    }

    @Test func slotsAreFoundDenseOrSparse() throws {
        for ids: [Int64] in [[3, 1, 7, 2], [1, 9_000_000_000, 42]] {
            let fields = try fields(ids)
            for (slot, id) in ids.enumerated() { #expect(fields.slot(id) == slot, "\(ids): \(id)") }
            for missing: Int64 in [0, 5, 8, -1, 10_000, Int64.max] { #expect(fields.slot(missing) == nil, "\(ids): \(missing)") }
        }
    }
}
