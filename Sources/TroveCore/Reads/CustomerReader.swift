import GRDB

/// The App API's customer reads (SPEC §7), shaped as Customer.io returns them: every attribute value a
/// string, timestamps as unix seconds.
public struct CustomerReader: Sendable {
    public let database: AppDatabase
    public let clock: TroveClock

    public init(database: AppDatabase, clock: TroveClock = .system) {
        self.database = database
        self.clock = clock
    }

    public static let maxSearchPage = 1000
    public static let maxAttributesBatch = 100

    static func identifiers(_ row: Row) -> JSON {
        .object([
            JSONMember("email", .string(row["email"] as String?)),
            JSONMember("id", .string(row["uid"] as String?)),
            JSONMember("cio_id", .string(PublicID.encode(row["id"]))),
        ])
    }

    /// `GET /v1/customers?email=`.
    public func byEmail(account: Int64, email: String) async throws -> JSON {
        try await database.read { db in
            let rows = try Row.fetchAll(
                db, sql: "SELECT id, uid, email FROM profiles WHERE account_id = ? AND email = ?",
                arguments: [account, Identifiers.normalizeEmail(email)])
            return ["results": .array(rows.map(Self.identifiers))]
        }
    }

    /// `POST /v1/customers?start=&limit=` with `{"filter": …}`: matching profiles in id order; `next` is
    /// the cursor for the following page ("" at the end).
    public func search(account: Int64, body: JSON, start: String?, limit: Int) async throws -> JSON {
        guard case .object = body else { throw ReadError.invalid("the body must be a JSON object {\"filter\": …}") }
        let filter: FilterNode?
        switch body["filter"] {
        case nil, .null?: filter = nil
        case let value?:
            do { filter = try CustomerIOFilter.parse(value) } catch { throw ReadError.invalid(error.description.replacingOccurrences(of: "filters", with: "filter")) }
        }
        var after: Int64 = 0
        if let start, !start.isEmpty {
            guard let decoded = PublicID.decode(start) else { throw ReadError.invalid("start: not a cursor this API returned") }
            after = decoded
        }
        let now = clock.now()
        return try await database.heavyRead { [after] db in
            var select: SQLFragment
            do {
                select = try SegmentCompiler.select(db, account: account, now: now, filter: filter, columns: "p.id, p.uid, p.email")
            } catch let e as SegmentError {
                throw ReadError.invalid(e.description)
            }
            select = select + SQLFragment(" AND p.id > ? ORDER BY p.id LIMIT ?", [after.databaseValue, (limit + 1).databaseValue])
            var rows = try Row.fetchAll(db.cachedStatement(sql: select.sql), arguments: select.statementArguments)
            let more = rows.count > limit
            if more { rows.removeLast() }
            return .object([
                JSONMember("identifiers", .array(rows.map(Self.identifiers))),
                JSONMember("ids", .array(rows.map { .string($0["uid"] as String?) })),
                JSONMember("next", .string(more ? PublicID.encode(rows.last!["id"]) : "")),
            ])
        }
    }

    /// `GET /v1/customers/:id/attributes`.
    public func attributes(account: Int64, customer: CustomerID) async throws -> JSON {
        try await database.read { db in
            guard let profile = try customer.profileID(db, account: account), let customer = try Self.customer(db, profile: profile) else {
                throw ReadError.notFound("no customer \(customer.description)")
            }
            return ["customer": customer]
        }
    }

    /// `POST /v1/customers/attributes` with `{"ids": […]}` (≤ 100): the customers found, in request order.
    public func attributes(account: Int64, ids: [CustomerID]) async throws -> JSON {
        guard ids.count <= Self.maxAttributesBatch else { throw ReadError.invalid("ids: at most \(Self.maxAttributesBatch) per request") }
        return try await database.read { db in
            var customers: [JSON] = []
            for id in ids {
                if let profile = try id.profileID(db, account: account), let customer = try Self.customer(db, profile: profile) {
                    customers.append(customer)
                }
            }
            return ["customers": .array(customers)]
        }
    }

    /// A customer as Customer.io shows one. Trove keeps no time per attribute: `timestamps` gives each
    /// attribute the profile's last update, the latest time it can have changed.
    static func customer(_ db: Database, profile: Int64) throws -> JSON? {
        guard let row = try Row.fetchOne(db, sql: "SELECT id, uid, email, created_at, updated_at, properties FROM profiles WHERE id = ?", arguments: [profile])
        else { return nil }
        let updated = Timestamp(milliseconds: row["updated_at"]).seconds
        var attributes: [JSONMember] = [
            JSONMember("cio_id", .string(PublicID.encode(row["id"]))),
            JSONMember("created_at", .string(String(Timestamp(milliseconds: row["created_at"]).seconds))),
        ]
        if let uid = row["uid"] as String? { attributes.append(JSONMember("id", .string(uid))) }
        if let email = row["email"] as String? { attributes.append(JSONMember("email", .string(email))) }
        var unsubscribed = false
        for member in try StoredJSON.properties(row["properties"], "profiles", id: row["id"]) {
            if member.key == "unsubscribed", case .bool(let b) = member.value { unsubscribed = b }
            attributes.append(JSONMember(member.key, .string(Self.text(member.value))))
        }
        return .object([
            JSONMember("id", .string(row["uid"] as String?)),
            JSONMember("identifiers", identifiers(row)),
            JSONMember("attributes", .object(attributes)),
            JSONMember("timestamps", .object(attributes.map { JSONMember($0.key, .int(updated)) })),
            JSONMember("unsubscribed", .bool(unsubscribed)),
        ])
    }

    /// Customer.io's rendering: strings as they are, timestamps as unix seconds, the rest as JSON text.
    static func text(_ value: JSON) -> String {
        switch value {
        case .string(let s):
            if ValueNormalizer.isTimestampText(s), let t = Timestamp.parseISO8601(s) { return String(t.seconds) }
            return s
        default: return JSONWriter.string(value)
        }
    }
}
