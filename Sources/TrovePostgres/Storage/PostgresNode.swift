import Foundation
import PostgresNIO
import Synchronization
import TroveCore

/// This process as a node among the Trove processes on one database (issue 20). Its row in `trove_nodes` says
/// until when it is alive; its claims (`work_claims`, and `claimed_by` on rows) hold while it is. Leases are
/// read on PostgreSQL's clock, the one clock every node shares: nodes' own clocks may disagree, and one fixed
/// by `--now` never moves.
public final class PostgresNode: Sendable {
    /// Unique per process: the host, the process id and a random part (a restarted process is a new node).
    public let id: String
    public let lease: Duration
    /// When this process last said it is alive (its own monotonic clock; nil: never, so it is no node yet).
    private let lastBeat = Mutex<ContinuousClock.Instant?>(nil)

    init(lease: Duration) {
        self.lease = lease
        let random = (0..<4).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
        id = "\(ProcessInfo.processInfo.hostName)-\(getpid())-\(random)"
    }

    /// PostgreSQL's time now, in milliseconds (`clock_timestamp()`: the statement's own moment).
    static let databaseNow = "(extract(epoch FROM clock_timestamp()) * 1000)::bigint"

    /// SQL that is true when the node named by `column` is not alive now: none, or one that stopped or has
    /// not said it is alive within its lease.
    static func notAlive(_ column: String) -> String {
        "(\(column) IS NULL OR NOT EXISTS (SELECT 1 FROM trove_nodes n WHERE n.id = \(column) AND n.alive_until >= \(databaseNow)))"
    }

    /// Whether this process said it is alive within the last third of its lease.
    fileprivate var beatRecently: Bool {
        lastBeat.withLock { $0.map { ContinuousClock.now - $0 < lease / 3 } ?? false }
    }
    fileprivate var joined: Bool { lastBeat.withLock { $0 != nil } }
    fileprivate func noteBeat() { lastBeat.withLock { $0 = .now } }
    fileprivate func noteLeft() { lastBeat.withLock { $0 = nil } }
}

extension PostgresAppDatabase: NodePresence {
    public var lease: Duration { node.lease }

    public func beat() async throws {
        try await query(
            """
            INSERT INTO trove_nodes (id, started_at, alive_until)
            VALUES (\(node.id), \(unescaped: PostgresNode.databaseNow), \(unescaped: PostgresNode.databaseNow) + \(node.lease.milliseconds))
            ON CONFLICT (id) DO UPDATE SET alive_until = excluded.alive_until
            """)
        node.noteBeat()
    }

    public func leave() async {
        guard node.joined else { return }
        do {
            try await query("DELETE FROM work_claims WHERE node_id = \(node.id)")
            try await query("DELETE FROM trove_nodes WHERE id = \(node.id)")
            node.noteLeft()
        } catch {
            logger.warning("could not remove node \(node.id) (the others take its work when its lease ends): \(error)")
        }
    }

    /// Said alive now, unless said so within the last third of the lease: a process without the server's
    /// heartbeat (the CLI, a benchmark's loader) is a node for as long as it claims work.
    func keepAlive() async throws {
        if node.beatRecently { return }
        try await beat()
    }

    /// Of `scopes`, those whose `kind` of work this node holds now: claimed anew, taken over from a node no
    /// longer alive, or already its own. One statement; a scope another live node holds is left out. Only the
    /// scopes free or held by a dead node are written: a busy loop claims every pass, and a scope already
    /// held (by this node or another live one) is neither rewritten nor locked.
    func claim(_ kind: String, _ scopes: [Int64]) async throws -> Set<Int64> {
        guard !scopes.isEmpty else { return [] }
        try await keepAlive()
        return Set(try await query(
            """
            WITH held AS (
                SELECT scope, node_id FROM work_claims
                WHERE kind = \(kind) AND scope = ANY(\(scopes)::bigint[]) AND NOT \(unescaped: PostgresNode.notAlive("node_id"))),
            taken AS (
                INSERT INTO work_claims AS w (kind, scope, node_id, claimed_at)
                SELECT \(kind), s, \(node.id), \(unescaped: PostgresNode.databaseNow) FROM unnest(\(scopes)::bigint[]) AS s
                WHERE s NOT IN (SELECT scope FROM held)
                ON CONFLICT (kind, scope) DO UPDATE SET node_id = excluded.node_id, claimed_at = excluded.claimed_at
                    WHERE w.node_id <> excluded.node_id AND \(unescaped: PostgresNode.notAlive("w.node_id"))
                RETURNING scope)
            SELECT scope FROM taken UNION SELECT scope FROM held WHERE node_id = \(node.id)
            """
        ).map { try $0.decode(Int64.self) })
    }

    /// Whether the last round of `kind` for `scope` (by whichever node held it) ended `every` ago or more, on
    /// PostgreSQL's clock; true when none has.
    func roundDue(_ kind: String, scope: Int64, every: Duration) async throws -> Bool {
        try await query(
            """
            SELECT coalesce((SELECT done_at <= \(unescaped: PostgresNode.databaseNow) - \(every.milliseconds) OR done_at IS NULL
                             FROM work_claims WHERE kind = \(kind) AND scope = \(scope)), true)
            """
        )[0].decode(Bool.self)
    }

    /// Removes the nodes whose lease ended `after` ago or more, and their claims (rows' `claimed_by` naming
    /// them count as free either way).
    func forgetDeadNodes(after: Duration) async throws {
        try await query(
            """
            WITH gone AS (DELETE FROM trove_nodes WHERE alive_until < \(unescaped: PostgresNode.databaseNow) - \(after.milliseconds) RETURNING id)
            DELETE FROM work_claims WHERE node_id IN (SELECT id FROM gone)
            """)
    }

    /// Notes a round of `kind` for `scope` ended now, if this node still holds it.
    func roundDone(_ kind: String, scope: Int64) async throws {
        try await query(
            """
            UPDATE work_claims SET done_at = \(unescaped: PostgresNode.databaseNow) WHERE kind = \(kind) AND scope = \(scope) AND node_id = \(node.id)
            """)
    }
}
