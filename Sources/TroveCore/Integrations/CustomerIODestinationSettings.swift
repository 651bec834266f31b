import Foundation
import GRDB

/// `PUT/GET/DELETE /v3/edit/integrations/customerio` (SPEC §10): the destination's settings per account,
/// kept in `integrations` under `customerio-destination`.
public struct CustomerIODestinationSettings: Sendable {
    public let database: AppDatabase
    public let clock: TroveClock
    public let policy: WebhookAddressPolicy

    public init(database: AppDatabase, clock: TroveClock = .system, policy: WebhookAddressPolicy = WebhookAddressPolicy()) {
        self.database = database
        self.clock = clock
        self.policy = policy
    }

    static let name = "customerio-destination"

    public func update(account: Int64, body: JSON) async throws -> JSON {
        let now = clock.now()
        return try await database.write { db in
            let destination = try CustomerIODestination.parse(body, current: try Self.load(db, account: account))
            if let url = destination.trackURL {
                do { _ = try policy.check(url: url) } catch { throw DestinationError.invalid("track_url: \(error)") }
            }
            for sync in destination.syncSegments {
                guard try Bool.fetchOne(db, sql: "SELECT 1 FROM segments WHERE account_id = ? AND id = ?", arguments: [account, sync.segmentID]) ?? false else {
                    throw DestinationError.invalid("sync_segments: no segment with id \(PublicID.encode(sync.segmentID))")
                }
            }
            try db.execute(
                sql: """
                    INSERT INTO integrations (account_id, name, config, updated_at) VALUES (?, ?, ?, ?)
                    ON CONFLICT (account_id, name) DO UPDATE SET config = excluded.config, updated_at = excluded.updated_at
                    """, arguments: [account, Self.name, JSONWriter.string(destination.stored), now.milliseconds])
            return try Self.shown(db, account: account)
        }
    }

    public func show(account: Int64) async throws -> JSON {
        try await database.read { db in try Self.shown(db, account: account) }
    }

    /// Removes the settings; what was still waiting to go out is marked failed (kept, visible).
    public func delete(account: Int64) async throws {
        let now = clock.now()
        try await database.write { db in
            guard try Self.load(db, account: account) != nil else { throw DestinationError.notFound("no Customer.io destination is set up") }
            try db.execute(sql: "DELETE FROM integrations WHERE account_id = ? AND name = ?", arguments: [account, Self.name])
            try db.execute(
                sql: "UPDATE customerio_deliveries SET state = 'failed', last_error = 'destination removed', next_attempt_at = ? WHERE account_id = ? AND state = 'pending'",
                arguments: [now.milliseconds, account])
        }
    }

    static func shown(_ db: Database, account: Int64) throws -> JSON {
        guard let destination = try load(db, account: account) else { throw DestinationError.notFound("no Customer.io destination is set up") }
        let updated = try Int64.fetchOne(db, sql: "SELECT updated_at FROM integrations WHERE account_id = ? AND name = ?", arguments: [account, name])
        let counts = try Row.fetchAll(db, sql: "SELECT state, count(*) FROM customerio_deliveries WHERE account_id = ? GROUP BY state", arguments: [account])
        var deliveries: [JSONMember] = ["pending", "delivered", "failed"].map { JSONMember($0, .int(0)) }
        for row in counts {
            if let i = deliveries.firstIndex(where: { $0.key == row[0] as String }) { deliveries[i].value = .int(row[1]) }
        }
        guard case .object(var members) = destination.shown else { return [:] }
        members.append(JSONMember("deliveries", .object(deliveries)))
        members.append(JSONMember("updated_at", updated.map { .string(Timestamp(milliseconds: $0).iso8601) } ?? .null))
        return ["integration": .object([JSONMember("name", .string("customerio"))] + members)]
    }

    static func load(_ db: Database, account: Int64) throws -> CustomerIODestination? {
        try String.fetchOne(db, sql: "SELECT config FROM integrations WHERE account_id = ? AND name = ?", arguments: [account, name])
            .map { try CustomerIODestination.fromStored($0, account: account) }
    }

    /// Every account's destination; one whose stored config does not parse is kept apart with its error, for
    /// the callers to raise where it concerns that account (and only there: one broken row must not stop
    /// every account's ingest).
    struct Destinations {
        var usable: [Int64: CustomerIODestination] = [:]
        var broken: [Int64: StoredDataError] = [:]
        var isEmpty: Bool { usable.isEmpty && broken.isEmpty }
    }

    /// Every account's destination (a handful of rows), for the writers and the sender. The ingest writer
    /// asks once per transaction: the statement is cached, and with `cache` each stored text is parsed once.
    static func all(_ db: Database, cache: WriteCaches? = nil) throws -> Destinations {
        var found = Destinations()
        let select = try db.cachedStatement(sql: "SELECT account_id, config FROM integrations WHERE name = 'customerio-destination'")
        for row in try Row.fetchAll(select) {
            let text: String = row[1]
            if let cached = cache?.destinations[text] {
                found.usable[row[0]] = cached
                continue
            }
            do {
                let parsed = try CustomerIODestination.fromStored(text, account: row[0])
                cache?.destinations[text] = parsed
                found.usable[row[0]] = parsed
            } catch {
                found.broken[row[0]] = error
            }
        }
        return found
    }

    // MARK: Deliveries

    /// `GET /v3/edit/integrations/customerio/deliveries?state=`: newest first.
    public func deliveries(account: Int64, state: String?, limit: Int) async throws -> JSON {
        if let state, !["pending", "delivered", "failed"].contains(state) {
            throw DestinationError.invalid("state: must be pending, delivered or failed")
        }
        return try await database.read { db in
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT d.*, p.uid FROM customerio_deliveries d LEFT JOIN profiles p ON p.id = d.profile_id
                    WHERE d.account_id = ? AND (?2 IS NULL OR d.state = ?2) ORDER BY d.id DESC LIMIT ?3
                    """, arguments: [account, state, limit])
            return ["deliveries": .array(rows.map(Self.delivery))]
        }
    }

    /// `POST /v3/edit/integrations/customerio/deliveries/:id/retry`: a failed delivery is due again now,
    /// with a fresh 24 hours of retries.
    public func retry(account: Int64, delivery: Int64) async throws -> JSON {
        let now = clock.now()
        return try await database.write { db in
            guard try Self.load(db, account: account) != nil else { throw DestinationError.notFound("no Customer.io destination is set up") }
            try db.execute(
                sql: """
                    UPDATE customerio_deliveries SET state = 'pending', attempts = 0, next_attempt_at = ?1, created_at = ?1
                    WHERE id = ?2 AND account_id = ?3 AND state = 'failed' AND identifier IS NOT NULL
                    """, arguments: [now.milliseconds, delivery, account])
            guard let row = try Row.fetchOne(
                db, sql: "SELECT d.*, p.uid FROM customerio_deliveries d LEFT JOIN profiles p ON p.id = d.profile_id WHERE d.id = ? AND d.account_id = ?",
                arguments: [delivery, account])
            else { throw DestinationError.notFound("no Customer.io delivery with id \(PublicID.encode(delivery))") }
            return ["delivery": Self.delivery(row)]
        }
    }

    static func delivery(_ row: Row) -> JSON {
        let state: String = row["state"]
        return .object([
            JSONMember("id", .string(PublicID.encode(row["id"]))),
            JSONMember("kind", .string(row["kind"] as String)),
            JSONMember("profile", .object([JSONMember("id", .string(PublicID.encode(row["profile_id"]))), JSONMember("uid", .string(row["uid"] as String?))])),
            JSONMember("identifier", .string(row["identifier"] as String?)),
            JSONMember("customerio_segment_id", .string(row["target"] as String?)),
            JSONMember("state", .string(state)),
            JSONMember("attempts", .int(row["attempts"])),
            JSONMember("next_attempt_at", state == "pending" ? ObjectReader.time(row["next_attempt_at"]) : .null),
            JSONMember("last_status", (row["last_status"] as Int64?).map(JSON.int) ?? .null),
            JSONMember("last_error", .string(row["last_error"] as String?)),
            JSONMember("created_at", ObjectReader.time(row["created_at"])),
            JSONMember("delivered_at", ObjectReader.time(row["delivered_at"])),
        ])
    }
}
