import Dispatch
import Foundation
import Synchronization
import Testing
@testable import TroveCore
@testable import TroveServer

/// Heavy reads (ad-hoc filters, previews, explains, reports) run on threads of their own, bounded in number
/// and time: while they are all busy, `/health`, single reads and ingest still answer, and one more heavy
/// request is refused with 429 and `Retry-After`; one that runs past its budget is stopped with a 422 that
/// says what to do instead.
@Suite(.timeLimit(.minutes(2))) struct HeavyReadLimitTests {
    /// An ad-hoc count: "did Completed Tour at least twice".
    static let count = JSON.object([
        JSONMember("filters_op", "and"),
        JSONMember("filters", [["kind": "event", "value": "Completed Tour", "mod": "gte", "range": 2]]),
    ])
    /// The same as a segment body (what a preview takes).
    static let segmentBody = JSON.object([
        JSONMember("items_op", "and"),
        JSONMember("items", [["kind": "event", "value": "Completed Tour", "mod": "gte", "range": 2]]),
    ])

    /// Blocks `n` heavy-read slots (running or queued) until `release` is called.
    final class Blocker: Sendable {
        let gate = DispatchSemaphore(value: 0)
        let tasks = Mutex<[Task<Void, any Error>]>([])

        func occupy(_ database: AppDatabase, _ n: Int) {
            for _ in 0..<n {
                let task = Task { [gate] in _ = try await database.heavyRead { _ in gate.wait() } }
                tasks.withLock { $0.append(task) }
            }
        }

        func release(_ n: Int) async throws {
            for _ in 0..<n { gate.signal() }
            for task in tasks.withLock({ $0 }) { try await task.value }
        }
    }

    /// Waits (yielding, not sleeping) until the heavy reads stand at `running` and `waiting`.
    static func settle(_ reads: HeavyReads, running: Int, waiting: Int) async {
        while reads.load != (running, waiting) { await Task.yield() }
    }

    @Test func aFullQueueAnswers429WhileTheLightRequestsGoOn() async throws {
        let trove = try await TestTrove(readLimits: ReadLimits(concurrent: 2, queued: 2, budget: .seconds(30)))
        try await trove.test(.live) { app in
            #expect(try await app.post(app.hook("events"), json: ["uid": "u-1", "name": "Completed Tour"]).status == 200)
            #expect(try await app.post(app.hook("events"), json: ["uid": "u-2", "name": "Completed Tour"]).status == 200)
            let blocker = Blocker()
            blocker.occupy(trove.services.database, 4)
            await Self.settle(trove.services.database.heavyReads, running: 2, waiting: 2)

            // Every heavy slot and queue place is taken: light work answers all the same.
            #expect(try await app.get("/health").status == 200)
            #expect(try await app.post(app.hook("events"), json: ["uid": "u-1", "name": "Completed Tour"]).status == 200)
            #expect(try await app.profile(uid: "u-1")?["uid"] == "u-1")
            #expect(try await app.get("/v3/edit/event_names").status == 200)

            // ... and heavy work is refused at once, in each family's shape.
            let refused = try await app.post("/v3/analyze/profiles/count", json: Self.count, headers: [.init("X-Account-Secret")!: app.secret])
            #expect(refused.status == 429)
            #expect(refused.headers[.retryAfter] == "2")
            #expect(refused.json?["messages"]?.arrayValue?.first?.stringValue?.contains("retry shortly") == true)
            let preview = try await app.post("/v3/edit/segments/preview", json: Self.segmentBody, headers: [.init("X-Account-Secret")!: app.secret])
            #expect(preview.status == 429)
            let appAPI = try await app.post(
                "/v1/customers", json: ["filter": ["segment": ["id": 1]]],
                headers: [.authorization: "Bearer \(trove.credentials.appAPIKey)"])
            #expect(appAPI.status == 429)
            #expect(appAPI.json?["errors"]?.arrayValue?.first?["status"] == "429")

            try await blocker.release(4)
            let counted = try await app.post("/v3/analyze/profiles/count", json: Self.count, headers: [.init("X-Account-Secret")!: app.secret])
            #expect(counted.status == 200)
            #expect(counted.json?["count"] == 1, "u-1 did it twice, u-2 once")
        }
    }

    @Test func aQueuedReadRunsWhenASlotFrees() async throws {
        let trove = try await TestTrove(readLimits: ReadLimits(concurrent: 1, queued: 1, budget: .seconds(30)))
        try await trove.test(.live) { app in
            #expect(try await app.post(app.hook("events"), json: ["uid": "u-1", "name": "Completed Tour"]).status == 200)
            #expect(try await app.post(app.hook("events"), json: ["uid": "u-1", "name": "Completed Tour"]).status == 200)
            #expect(try await app.post(app.hook("events"), json: ["uid": "u-2", "name": "Completed Tour"]).status == 200)
            let blocker = Blocker()
            blocker.occupy(trove.services.database, 1)
            await Self.settle(trove.services.database.heavyReads, running: 1, waiting: 0)
            // Queued behind the blocked one; answered once it is released.
            async let queued = app.post("/v3/analyze/profiles/count", json: Self.count, headers: [.init("X-Account-Secret")!: app.secret])
            await Self.settle(trove.services.database.heavyReads, running: 1, waiting: 1)
            try await blocker.release(1)
            let reply = try await queued
            #expect(reply.status == 200)
            #expect(reply.json?["count"] == 1)
            await Self.settle(trove.services.database.heavyReads, running: 0, waiting: 0)
        }
    }

    /// Heavy reads run on threads of the lowest CPU priority, which yield their core to any other thread of
    /// the server that wakes up; the light reads do not.
    @Test func heavyReadsRunAtTheLowestPriority() async throws {
        let database = try await TestTrove().services.database
        #expect(try await database.heavyRead { _ in IdleThreads.runsAtLowestPriority })
        #expect(try await !database.read { _ in IdleThreads.runsAtLowestPriority })
        #expect(try await database.heavyRead { db in try Int.fetchOne(db, sql: "SELECT 6 * 7") } == 42)
    }

    /// A stopwatch that moves an hour each time it is read: every heavy read that reaches SQLite's
    /// progress handler is past its budget.
    static func racingStopwatch() -> Stopwatch {
        let hours = Atomic<Int64>(0)
        return Stopwatch { .seconds(3600 * hours.add(1, ordering: .relaxed).newValue) }
    }

    @Test func aReadPastItsBudgetIsStoppedWithAnAnswerThatSaysWhatToDo() async throws {
        let trove = try await TestTrove(readLimits: ReadLimits(concurrent: 2, queued: 2, budget: .seconds(10)), stopwatch: Self.racingStopwatch())
        try await trove.test(.live) { app in
            let events = JSON.array((0..<3000).map { i in ["uid": .string("u-\(i % 1000)"), "name": i % 3 == 0 ? "Completed Tour" : "Viewed Page"] })
            #expect(try await app.post(app.hook("events/batch"), json: ["events": events]).status == 202)

            let stopped = try await app.post("/v3/analyze/profiles/count", json: Self.count, headers: [.init("X-Account-Secret")!: app.secret])
            #expect(stopped.status == 422)
            let message = stopped.json?["messages"]?.arrayValue?.first?.stringValue ?? ""
            #expect(message.contains("10 s budget"))
            #expect(message.contains("save the filter as a segment"))
            let appAPI = try await app.post(
                "/v1/customers", json: ["filter": ["and": [["attribute": ["field": "plan", "operator": "exists"]]]]],
                headers: [.authorization: "Bearer \(trove.credentials.appAPIKey)"])
            #expect(appAPI.status == 422)
            #expect(appAPI.json?["errors"]?.arrayValue?.first?["detail"]?.stringValue?.contains("budget") == true)

            // The stopped reads left nothing behind: light reads and ingest carry on.
            #expect(try await app.post(app.hook("events"), json: ["uid": "u-1", "name": "Completed Tour"]).status == 200)
            #expect(try await app.profile(uid: "u-1")?["uid"] == "u-1")
            await Self.settle(trove.services.database.heavyReads, running: 0, waiting: 0)
        }
    }
}
