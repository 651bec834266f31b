import Foundation
import GRDB
import Logging

/// `IntegrationStore` on SQLite: `integrations` (one row per account and integration: `customerio-destination`,
/// `customerio-source`) and the Customer.io outbox `customerio_deliveries`.
public struct SQLiteIntegrationStore: IntegrationStore {
    public let database: AppDatabase

    public init(database: AppDatabase) { self.database = database }

    static let destination = "customerio-destination"
    static let source = "customerio-source"

    // MARK: Destination

    public func saveDestination(account: Int64, now: Timestamp,
                                _ make: @escaping @Sendable (CustomerIODestination?) throws -> CustomerIODestination) async throws -> CustomerIODestinationSettings.State {
        try await database.write { db in
            let destination = try make(try Self.load(db, account: account))
            for sync in destination.syncSegments {
                guard try Bool.fetchOne(db, sql: "SELECT 1 FROM segments WHERE account_id = ? AND id = ?", arguments: [account, sync.segmentID]) ?? false else {
                    throw DestinationError.invalid("sync_segments: no segment with id \(PublicID.encode(sync.segmentID))")
                }
            }
            try Self.upsert(db, account: account, name: Self.destination, config: JSONWriter.string(destination.stored), now: now)
            return try Self.shown(db, account: account)
        }
    }

    public func destinationState(account: Int64) async throws -> CustomerIODestinationSettings.State {
        try await database.read { db in try Self.shown(db, account: account) }
    }

    public func deleteDestination(account: Int64, now: Timestamp) async throws {
        try await database.write { db in
            guard try Self.load(db, account: account) != nil else { throw DestinationError.notFound("no Customer.io destination is set up") }
            try db.execute(sql: "DELETE FROM integrations WHERE account_id = ? AND name = ?", arguments: [account, Self.destination])
            try db.execute(
                sql: "UPDATE customerio_deliveries SET state = 'failed', last_error = 'destination removed', next_attempt_at = ? WHERE account_id = ? AND state = 'pending'",
                arguments: [now.milliseconds, account])
        }
    }

    public func destinationDeliveries(account: Int64, state: WebhookDelivery.State?, limit: Int) async throws -> [CustomerIODelivery] {
        try await database.read { db in
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT d.*, p.uid FROM customerio_deliveries d LEFT JOIN profiles p ON p.id = d.profile_id
                    WHERE d.account_id = ? AND (?2 IS NULL OR d.state = ?2) ORDER BY d.id DESC LIMIT ?3
                    """, arguments: [account, state?.rawValue, limit])
            return try rows.map(Self.delivery)
        }
    }

    public func retryDestinationDelivery(account: Int64, delivery: Int64, now: Timestamp) async throws -> CustomerIODelivery {
        try await database.write { db in
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
            return try Self.delivery(row)
        }
    }

    static func upsert(_ db: Database, account: Int64, name: String, config: String, now: Timestamp) throws {
        try db.execute(
            sql: """
                INSERT INTO integrations (account_id, name, config, updated_at) VALUES (?, ?, ?, ?)
                ON CONFLICT (account_id, name) DO UPDATE SET config = excluded.config, updated_at = excluded.updated_at
                """, arguments: [account, name, config, now.milliseconds])
    }

    static func updatedAt(_ db: Database, account: Int64, name: String) throws -> Timestamp? {
        try Int64.fetchOne(db, sql: "SELECT updated_at FROM integrations WHERE account_id = ? AND name = ?", arguments: [account, name])
            .map(Timestamp.init(milliseconds:))
    }

    static func shown(_ db: Database, account: Int64) throws -> CustomerIODestinationSettings.State {
        guard let destination = try load(db, account: account) else { throw DestinationError.notFound("no Customer.io destination is set up") }
        let counts = try Row.fetchAll(db, sql: "SELECT state, count(*) FROM customerio_deliveries WHERE account_id = ? GROUP BY state", arguments: [account])
            .map { (state: $0[0] as String, count: $0[1] as Int) }
        return try CustomerIODestinationSettings.State(
            destination: destination, counts: counts, updatedAt: try updatedAt(db, account: account, name: Self.destination)?.milliseconds)
    }

    static func load(_ db: Database, account: Int64) throws -> CustomerIODestination? {
        try String.fetchOne(db, sql: "SELECT config FROM integrations WHERE account_id = ? AND name = ?", arguments: [account, Self.destination])
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
    static func destinations(_ db: Database, cache: WriteCaches? = nil) throws -> Destinations {
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

    static func delivery(_ row: Row) throws -> CustomerIODelivery {
        try CustomerIODelivery(
            id: row["id"], kind: row["kind"], profileID: row["profile_id"], profileUID: row["uid"], identifier: row["identifier"], target: row["target"],
            state: row["state"], attempts: row["attempts"], nextAttemptAt: row["next_attempt_at"], lastStatus: row["last_status"],
            lastError: row["last_error"], createdAt: row["created_at"], deliveredAt: row["delivered_at"])
    }

    // MARK: Customer.io outbox

    public func dueCustomerIO(now: Timestamp, limit: Int, open: @escaping @Sendable (Int64) -> Bool) async throws
        -> (rows: [CustomerIOQueued], destinations: [Int64: CustomerIODestination]) {
        try await database.pool.read { db in
            let destinations = try Self.destinations(db).usable
            var due: [CustomerIOQueued] = []
            for account in destinations.keys.sorted() where open(account) {
                due += try Row.fetchAll(db, sql: """
                    SELECT d.id, d.account_id, d.profile_id, d.kind, d.identifier, d.target, d.body, d.attempts, d.created_at
                    FROM customerio_deliveries d
                    WHERE d.account_id = ? AND d.state = 'pending' AND d.next_attempt_at <= ?
                      AND NOT EXISTS (SELECT 1 FROM customerio_deliveries x
                                      WHERE x.account_id = d.account_id AND x.profile_id = d.profile_id AND x.state = 'pending' AND x.id < d.id)
                    ORDER BY d.next_attempt_at, d.id LIMIT ?
                    """, arguments: [account, now.milliseconds, limit]).map {
                    CustomerIOQueued(id: $0[0], account: $0[1], profile: $0[2], kind: $0[3], identifier: $0[4], target: $0[5], body: $0[6],
                                     attempts: $0[7], createdAt: $0[8])
                }
            }
            return (due, destinations)
        }
    }

    public func recordCustomerIO(_ attempts: [CustomerIOAttempt], now: Timestamp) async throws {
        let wiped = try await database.pool.write { db in
            var wiped = false
            for a in attempts {
                if a.error == nil {
                    try db.execute(
                        sql: "UPDATE customerio_deliveries SET state = 'delivered', attempts = ?, last_status = ?, last_error = NULL, delivered_at = ? WHERE id = ?",
                        arguments: [a.attempts, a.status, now.milliseconds, a.id])
                } else {
                    try db.execute(
                        sql: """
                            UPDATE customerio_deliveries SET state = ?, attempts = ?, last_status = ?, last_error = ?, next_attempt_at = coalesce(?, next_attempt_at)
                            WHERE id = ? AND state = 'pending'
                            """,
                        arguments: [a.retryAt == nil ? "failed" : "pending", a.attempts, a.status, a.error, a.retryAt?.milliseconds, a.id])
                }
                if try DeletionRecords.settled(db, table: "customerio_deliveries", id: a.id, now: now) { wiped = true }
            }
            return wiped
        }
        if wiped { database.requestLogTruncation() }
    }

    // MARK: Source

    public func saveSourceSigningKey(account: Int64, _ key: String?, now: Timestamp) async throws -> CustomerIOSourceSettings.State {
        try await database.write { db in
            if let key {
                try Self.upsert(db, account: account, name: Self.source, config: JSONWriter.string(["signing_key": .string(key)]), now: now)
            } else {
                try db.execute(sql: "DELETE FROM integrations WHERE account_id = ? AND name = ?", arguments: [account, Self.source])
            }
            return try Self.sourceState(db, account: account)
        }
    }

    public func sourceState(account: Int64) async throws -> CustomerIOSourceSettings.State {
        try await database.read { db in try Self.sourceState(db, account: account) }
    }

    public func sourceSigningKey(account: Int64) async throws -> String? {
        try await database.read { db in try Self.signingKey(db, account: account) }
    }

    static func sourceState(_ db: Database, account: Int64) throws -> CustomerIOSourceSettings.State {
        CustomerIOSourceSettings.State(signingKey: try signingKey(db, account: account), updatedAt: try updatedAt(db, account: account, name: Self.source))
    }

    static func signingKey(_ db: Database, account: Int64) throws -> String? {
        try String.fetchOne(
            db, sql: "SELECT json_extract(config, '$.signing_key') FROM integrations WHERE account_id = ? AND name = ?", arguments: [account, Self.source])
    }
}

extension CustomerIODeliverer {
    /// On the SQLite engine.
    public init(database: AppDatabase, clock: TroveClock = .system, transport: any OutgoingTransport, policy: WebhookAddressPolicy,
                logger: Logger = Logger(label: "trove.customerio")) {
        self.init(store: SQLiteIntegrationStore(database: database), clock: clock, transport: transport, policy: policy, logger: logger)
    }
}

extension CustomerIODestinationSettings {
    /// On the SQLite engine.
    public init(database: AppDatabase, clock: TroveClock = .system, policy: WebhookAddressPolicy = WebhookAddressPolicy()) {
        self.init(store: SQLiteIntegrationStore(database: database), clock: clock, policy: policy)
    }
}

extension CustomerIOSourceSettings {
    /// On the SQLite engine.
    public init(database: AppDatabase, clock: TroveClock = .system) {
        self.init(store: SQLiteIntegrationStore(database: database), clock: clock)
    }
}
