import Synchronization
import TroveCore

/// Identifiers the writers have resolved, kept across transactions and shared by the writer threads:
/// uid → profile id, event name → interned row. Entries learned in a transaction are merged only after it
/// commits, so a rollback never leaves a dangling id behind; an erasure or a deletion clears them.
final class PostgresWriteCaches: Sendable {
    /// Compared as bytes, as PostgreSQL's unique indexes compare them (`AccountKey`).
    typealias Key = AccountKey

    /// A profile's id, and the account's newest deletion id when the profile was last seen to exist under
    /// the erasure lock (`PostgresWriteSession.checkProfiles`; nil: never).
    struct Profile: Sendable, Equatable {
        var id: Int64
        var existedAt: Int64?
    }

    static let maxProfiles = 2_000_000

    private struct State {
        var profiles: [Key: Profile] = [:]
        var names: [Key: EventNameRow] = [:]
    }

    private let state = Mutex(State())
    let eventIDs = IDAllocator(table: "events")
    let profileIDs = IDAllocator(table: "profiles")

    func profile(_ key: Key) -> Profile? { state.withLock { $0.profiles[key] } }
    func eventName(_ key: Key) -> EventNameRow? { state.withLock { $0.names[key] } }

    func merge(profiles: [Key: Profile], names: [Key: EventNameRow]) {
        state.withLock { s in
            if s.profiles.count + profiles.count > Self.maxProfiles { s.profiles.removeAll(keepingCapacity: true) }
            s.profiles.merge(profiles) { _, new in new }
            s.names.merge(names) { _, new in new }
        }
    }

    func reset() { state.withLock { $0 = State() } }
}

/// Ids (of events, of profiles) taken from a table's identity sequence a block at a time, so a buffered row
/// needs no round trip for its id. The sequence steps by the block (migration 0006): one `nextval` is the
/// block's first id. Ids are unique, not gapless, and not in commit order (on PostgreSQL they never are).
final class IDAllocator: Sendable {
    let table: String
    init(table: String) { self.table = table }

    private let free = Mutex<[Int64]>([])
    /// The identity sequence's name and step, looked up once: looked up per row, the catalog lookup cost ten
    /// times the `nextval` (10 s of server time in a 1M-event import).
    private let sequence = Mutex<(name: String, step: Int64)?>(nil)

    func next(_ connection: BlockingConnection) throws -> Int64 {
        if let id = free.withLock({ $0.popLast() }) { return id }
        let known: (name: String, step: Int64)
        if let found = sequence.withLock({ $0 }) {
            known = found
        } else {
            known = try connection.query(
                """
                SELECT s.seqrelid::regclass::text, s.seqincrement FROM pg_sequence s
                WHERE s.seqrelid = pg_get_serial_sequence('\(unescaped: table)', 'id')::regclass
                """
            ).first!.decode((String, Int64).self)
            sequence.withLock { $0 = known }
        }
        let first = try connection.query("SELECT nextval(\(known.name)::regclass)").first!.decode(Int64.self)
        return free.withLock { list in
            list.append(contentsOf: (first..<first + max(known.step, 1)).reversed())
            return list.popLast()!
        }
    }
}
