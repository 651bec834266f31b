import GRDB

/// The data-management reads (SPEC §4): warnings, the property catalog, event names.
public struct CatalogReader: Sendable {
    public let database: AppDatabase

    public init(database: AppDatabase) { self.database = database }

    public func warnings(account: Int64, model: Model?) async throws -> JSON {
        try await database.read { db in
            var sql = "SELECT model, prop, kind, count, first_at, last_at, example_uid, detail FROM warnings WHERE account_id = ?"
            var args: StatementArguments = [account]
            if let model {
                sql += " AND model = ?"
                _ = args.append(contentsOf: [model.rawValue])
            }
            sql += " ORDER BY last_at DESC, id DESC"
            let rows = try Row.fetchAll(db, sql: sql, arguments: args)
            return ["warnings": .array(rows.map { row in
                .object([
                    JSONMember("kind", .string(row["kind"] as String)),
                    JSONMember("model", .string(row["model"] as String)),
                    JSONMember("prop", .string(row["prop"] as String)),
                    JSONMember("count", .int(row["count"])),
                    JSONMember("first_at", ObjectReader.time(row["first_at"])),
                    JSONMember("last_at", ObjectReader.time(row["last_at"])),
                    JSONMember("example_uid", .string(row["example_uid"] as String?)),
                    JSONMember("detail", .string(row["detail"] as String?)),
                ])
            })]
        }
    }

    public func properties(account: Int64, model: Model?) async throws -> JSON {
        try await database.read { db in
            var sql = "SELECT id, model, prop, name, types, examples, last_seen_at FROM properties WHERE account_id = ?"
            var args: StatementArguments = [account]
            if let model {
                sql += " AND model = ?"
                _ = args.append(contentsOf: [model.rawValue])
            }
            sql += " ORDER BY model, prop"
            let rows = try Row.fetchAll(db, sql: sql, arguments: args)
            return ["properties": .array(try rows.map { row in
                .object([
                    JSONMember("id", .string(PublicID.encode(row["id"]))),
                    JSONMember("name", .string(row["name"] as String)),
                    JSONMember("prop", .string(row["prop"] as String)),
                    JSONMember("kind", .string(row["model"] as String)),
                    JSONMember("types", try StoredJSON.parse(row["types"], "properties", "types", id: row["id"])),
                    JSONMember("values", try StoredJSON.parse(row["examples"], "properties", "examples", id: row["id"])),
                    JSONMember("last_seen_at", ObjectReader.time(row["last_seen_at"])),
                ])
            })]
        }
    }

    public func eventNames(account: Int64) async throws -> JSON {
        try await database.read { db in
            let rows = try Row.fetchAll(
                db, sql: "SELECT id, uid, name, count, last_seen_at FROM event_names WHERE account_id = ? ORDER BY count DESC, uid",
                arguments: [account])
            return ["event_names": .array(rows.map { row in
                .object([
                    JSONMember("id", .string(PublicID.encode(row["id"]))),
                    JSONMember("name", .string(row["name"] as String)),
                    JSONMember("uid", .string(row["uid"] as String)),
                    JSONMember("count", .int(row["count"])),
                    JSONMember("last_seen_at", ObjectReader.time(row["last_seen_at"])),
                ])
            })]
        }
    }
}
