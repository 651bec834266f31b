import Foundation
import GRDB
import Testing
@testable import TroveCore

/// Each profile's two latest times of a name a segment counts (`EventRecency`): equal to the events' own
/// through builds, steps of the evaluator and erasure; a staged evaluation that reads them selects what the
/// filter says, events past the watermark included; they go with the name's index.
extension PeoplePageTests {
    /// The kept rows next to the same figures read from the events.
    static func recencyMatchesEvents(_ db: AppDatabase) async throws -> (kept: [[Int64?]], events: [[Int64?]]) {
        try await db.pool.read { db in
            let kept = try Row.fetchAll(db, sql: "SELECT name_id, profile_id, latest, second FROM event_recency ORDER BY 1, 2")
                .map { [$0[0], $0[1], $0[2], $0[3]] as [Int64?] }
            let events = try Row.fetchAll(
                db,
                sql: """
                    SELECT e.name_id, e.profile_id, max(e.timestamp),
                        (SELECT x.timestamp FROM events x WHERE x.name_id = e.name_id AND x.profile_id = e.profile_id ORDER BY x.timestamp DESC LIMIT 1 OFFSET 1)
                    FROM events e WHERE e.name_id IN (SELECT name_id FROM event_recency_names) GROUP BY 1, 2 ORDER BY 1, 2
                    """).map { [$0[0], $0[1], $0[2], $0[3]] as [Int64?] }
            return (kept, events)
        }
    }

    @Test func latestTimesFollowTheEventsAndNarrowTheCandidates() async throws {
        let w = try await world()
        func at(hoursAgo: Int) -> String { fixedNow.adding(milliseconds: -Int64(hoursAgo) * 3_600_000).iso8601 }
        for i in 0..<30 {
            try await send(w, .profile, #"{"uid":"p\#(i)","plan":"pro","upsell_readiness_score":\#(70 + i)}"#)
            // 0–3 events, some outside the 30-day window, not in time order.
            for e in 0..<(i % 4) {
                try await send(w, .event, #"{"uid":"p\#(i)","name":"Completed Tour (Chameleon)","timestamp":"\#(at(hoursAgo: (i * 7 + e * 300) % 1000))"}"#)
            }
        }
        // Many events of the name elsewhere, so that a seek per candidate beats a pass over them.
        try await send(w, .profile, #"{"uid":"busy","plan":"free"}"#)
        for _ in 0..<300 { try await send(w, .event, #"{"uid":"busy","name":"Completed Tour (Chameleon)"}"#) }
        let segment = try await w.store.create(account: w.account, body: json(
            #"{"name":"S","items":[{"prop":"upsell_readiness_score","op":"gte","value":80},{"prop":"plan","op":"eq","value":"pro"},{"kind":"event","value":"Completed Tour (Chameleon)","mod":"gte","range":2,"cond":"gt-d","int":30}]}"#))
        // One candidate against every profile that ever did it: the latest times are many more than the
        // candidates, so they are not read to the end and the candidate's events are counted as they are.
        let few = try await w.store.create(account: w.account, body: json(
            #"{"name":"Few","items":[{"prop":"upsell_readiness_score","op":"gte","value":99},{"prop":"plan","op":"eq","value":"pro"},{"kind":"event","value":"Completed Tour (Chameleon)"}]}"#))
        try await w.evaluator.catchUp()
        var sizes = try await expectConsistent(w, "after the build")
        let fewCounted = try await w.queries.evaluate(account: w.account, segment: few.id)
        #expect(sizes[few.id] == 1 && fewCounted == 1)
        #expect((sizes[segment.id] ?? 0) > 0, "the segment has members, or the test proves little")
        var recency = try await Self.recencyMatchesEvents(w.db)
        #expect(recency.kept.count == 23 && recency.kept == recency.events, "built with the name's index")
        let required = try await w.db.pool.read { db in
            let filter = try #require(try Segment.fetch(db, account: w.account, id: segment.id)?.filter())
            return try SegmentCompiler.over(db, account: w.account, now: fixedNow).membersQuery(filter, segment: segment.id, columns: "p.id").staged
        }
        #expect(required?.required.count == 1 && required?.required.first?.sql.contains("event_recency") == true, "the staged query reads the latest times")
        #expect(required?.trustingMembers != nil, "and trusts them for \"at least twice\"")

        // Events the evaluator has not reached yet: a reader adds their profiles.
        for i in [12, 16, 21] {
            for _ in 0..<2 { try await send(w, .event, #"{"uid":"p\#(i)","name":"Completed Tour (Chameleon)","timestamp":"\#(at(hoursAgo: 1))"}"#) }
        }
        let counted = try await w.queries.evaluate(account: w.account, segment: segment.id)
        let expected = try await w.db.pool.read { db in
            let reference = try ReferenceEvaluator(db, account: w.account, now: fixedNow)
            return try #require(reference.segments[segment.id].map { reference.members($0).count })
        }
        #expect(counted == Int64(expected) && expected > sizes[segment.id] ?? 0, "the tail's profiles count: \(counted) vs \(expected)")
        try await w.evaluator.catchUp()
        sizes = try await expectConsistent(w, "after the tail")
        recency = try await Self.recencyMatchesEvents(w.db)
        #expect(recency.kept == recency.events, "moved forward with the watermark")

        // Far behind the watermark, a name's rows are built again from its index; a name already there (built
        // since a bulk load, as the first segment after it is) is left alone. A row set wrong shows which.
        func wrongRowAfterCatchUp(behind: Int64) async throws -> Bool {
            try await w.db.pool.write { db in
                let top = try #require(try Int64.fetchOne(db, sql: "SELECT max(id) FROM events"))
                try db.execute(sql: "UPDATE event_recency SET latest = 1 WHERE profile_id = (SELECT min(profile_id) FROM event_recency)")
                try db.execute(sql: "UPDATE event_recency_names SET through_event_id = ?", arguments: [top - behind])
                try EventRecency.catchUp(through: top, db, readableTail: 2)
                return try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM event_recency WHERE latest = 1)")!
            }
        }
        #expect(try await wrongRowAfterCatchUp(behind: 0), "a name not behind is not built again")
        #expect(try await !wrongRowAfterCatchUp(behind: 3), "a name far behind is built again")
        recency = try await Self.recencyMatchesEvents(w.db)
        #expect(recency.kept == recency.events, "built again")

        // Events deleted by retention: the rows of their profiles are recomputed from what is left.
        let queue = WriteQueue(database: w.db, clock: w.clock.clock)
        let cutoff = Timestamp(milliseconds: fixedNow.milliseconds - 20 * 86_400_000)
        let deleted = try await queue.write { session in try session.deleteEvents(before: cutoff, limit: 1_000) }
        #expect(deleted > 0)
        recency = try await Self.recencyMatchesEvents(w.db)
        #expect(recency.kept == recency.events, "recomputed after a deletion")
        try await w.evaluator.catchUp()
        sizes = try await expectConsistent(w, "after the deletion")
        #expect(try await w.queries.evaluate(account: w.account, segment: segment.id) == Int64(sizes[segment.id] ?? -1))

        // Erased: nothing of the person stays here either.
        let erased = try await w.db.pool.read { db in try #require(try Int64.fetchOne(db, sql: "SELECT id FROM profiles WHERE uid = 'p16'")) }
        let erasure = Erasure(store: queue, reads: ErasureReader(database: w.db))
        _ = try await erasure.forget(account: w.account, profile: erased, source: .api)
        let left = try await w.db.pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM event_recency WHERE profile_id = ?", arguments: [erased])! }
        #expect(left == 0)

        // The segments gone, their name's index and latest times go with them.
        try await w.store.delete(account: w.account, id: segment.id)
        try await w.store.delete(account: w.account, id: few.id)
        _ = try await w.evaluator.dropUnusedIndexes()
        let rows = try await w.db.pool.read { db in
            try Int.fetchOne(db, sql: "SELECT (SELECT count(*) FROM event_recency) + (SELECT count(*) FROM event_recency_names)")!
        }
        #expect(rows == 0)
    }
}
