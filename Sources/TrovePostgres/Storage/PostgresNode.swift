import Foundation
import PostgresNIO
import Synchronization
import TroveCore

/// This process as a node among the Trove processes on one database (issue 20). Its row in `trove_nodes` says
/// how long it is alive; its claims (`work_claims`, and `claimed_by` on rows) hold while it is. Times are the
/// nodes' own clocks: they must agree to well within the lease (NTP does).
public final class PostgresNode: Sendable {
    /// Unique per process: the host, the process id and a random part (a restarted process is a new node).
    public let id: String
    public let lease: Duration
    /// The `alive_until` this process last wrote (nil: not yet).
    private let aliveUntil = Mutex<Int64?>(nil)

    init(lease: Duration) {
        self.lease = lease
        let random = (0..<4).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
        id = "\(ProcessInfo.processInfo.hostName)-\(getpid())-\(random)"
    }

    /// SQL that is true when the node named by `column` (a text column or parameter) is not alive at `now`:
    /// nobody, or a node that stopped or has not said it is alive within its lease.
    static func notAlive(_ column: String, now: Timestamp) -> String {
        "(\(column) IS NULL OR NOT EXISTS (SELECT 1 FROM trove_nodes n WHERE n.id = \(column) AND n.alive_until >= \(now.milliseconds)))"
    }
}

extension PostgresAppDatabase: NodePresence {
    public var lease: Duration { node.lease }

    public func beat(now: Timestamp) async throws {
        let until = now.milliseconds + node.lease.milliseconds
        try await query(
            """
            INSERT INTO trove_nodes (id, started_at, alive_until) VALUES (\(node.id), \(now.milliseconds), \(until))
            ON CONFLICT (id) DO UPDATE SET alive_until = greatest(trove_nodes.alive_until, excluded.alive_until)
            """)
        node.noteAlive(until: until)
    }

    public func leave() async {
        do {
            try await query("DELETE FROM work_claims WHERE node_id = \(node.id)")
            try await query("DELETE FROM trove_nodes WHERE id = \(node.id)")
        } catch {
            logger.warning("could not remove node \(node.id) (the others take its work when its lease ends): \(error)")
        }
    }

    /// Said alive now, unless said so within the last third of the lease: a process without the server's
    /// heartbeat (the CLI, a test) stays alive for as long as it claims work.
    func keepAlive(now: Timestamp) async throws {
        if node.isAlive(at: now.milliseconds + 2 * node.lease.milliseconds / 3) { return }
        try await beat(now: now)
    }

    /// Of `scopes`, those whose `kind` of work this node holds now: claimed anew, taken over from a node no
    /// longer alive, or already its own (those rows are not written again: a busy loop claims every pass).
    /// One statement; a scope another live node holds is left out.
    func claim(_ kind: String, _ scopes: [Int64], now: Timestamp) async throws -> Set<Int64> {
        guard !scopes.isEmpty else { return [] }
        try await keepAlive(now: now)
        return Set(try await query(
            """
            WITH taken AS (
                INSERT INTO work_claims AS w (kind, scope, node_id, claimed_at)
                SELECT \(kind), s, \(node.id), \(now.milliseconds) FROM unnest(\(scopes)::bigint[]) AS s
                ON CONFLICT (kind, scope) DO UPDATE SET node_id = excluded.node_id, claimed_at = excluded.claimed_at
                    WHERE w.node_id <> excluded.node_id AND \(unescaped: PostgresNode.notAlive("w.node_id", now: now))
                RETURNING scope)
            SELECT scope FROM taken
            UNION SELECT scope FROM work_claims WHERE kind = \(kind) AND scope = ANY(\(scopes)::bigint[]) AND node_id = \(node.id)
            """
        ).map { try $0.decode(Int64.self) })
    }

    /// When the holder of `kind` for `scope` last finished a round of it (nil: never).
    func lastDone(_ kind: String, scope: Int64) async throws -> Int64? {
        try await query("SELECT done_at FROM work_claims WHERE kind = \(kind) AND scope = \(scope)").first?.decode(Int64?.self)
    }

    /// Notes a round of `kind` for `scope` finished at `now`, if this node still holds it.
    func done(_ kind: String, scope: Int64, now: Timestamp) async throws {
        try await query("UPDATE work_claims SET done_at = \(now.milliseconds) WHERE kind = \(kind) AND scope = \(scope) AND node_id = \(node.id)")
    }
}

extension PostgresNode {
    fileprivate func noteAlive(until: Int64) { aliveUntil.withLock { $0 = max($0 ?? until, until) } }
    fileprivate func isAlive(at time: Int64) -> Bool { aliveUntil.withLock { ($0 ?? .min) >= time } }
}
