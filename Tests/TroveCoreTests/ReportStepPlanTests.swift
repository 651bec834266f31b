import GRDB
import Testing
@testable import TroveCore

/// The funnel's step lists never need an index over the event log: a slice and a funnel's tail read the
/// log by rowid range — also when a segment's index of the name exists, which SQLite would otherwise walk
/// whole for each slice (at 10× a list's build went from 3 minutes to past 13) — and a list is read in its
/// primary key's order (no sort over its rows).
@Suite struct ReportStepPlanTests {
    static func plan(_ db: Database, _ sql: String, _ arguments: StatementArguments) throws -> String {
        try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + sql, arguments: arguments).map { $0["detail"] as String }.joined(separator: " | ")
    }

    @Test func slicesAndTailsReadTheLogByRowidAndListsInOrder() async throws {
        let database = try await temporaryDatabase()
        // Also where a segment made the name's index: a slice or a tail must not walk it.
        try await database.write { db in try db.execute(sql: SegmentIndex.eventName(1).createSQL) }
        try await database.read { db in
            for grouped in [false, true] {
                let range: StatementArguments = [0, 10, 1, 0, 5]
                let slice = try Self.plan(db, ReportSteps.readSQL(grouped: grouped), grouped ? range + ["$.\"a\""] : range)
                #expect(slice.contains("SEARCH events USING INTEGER PRIMARY KEY (rowid>? AND rowid<?)"), "\(slice)")
                let tail = try Self.plan(db, FunnelReport.tailSQL(grouped: grouped), [0, 10, "$.\"a\"", 5, 1])
                #expect(tail.contains("SEARCH events USING INTEGER PRIMARY KEY (rowid>?)"), "\(tail)")
            }
            let list = try Self.plan(db, FunnelReport.listSQL, [1])
            #expect(list.contains("SEARCH report_step_profiles USING PRIMARY KEY (step_id=?)"), "\(list)")
            #expect(!list.contains("TEMP B-TREE"), "\(list)")
        }
    }
}

/// Lists are read off the writer and written afterwards: what changed in between must not leave wrong rows
/// behind; and a list built in many passes and chunks holds exactly its name's events.
@Suite struct ReportStepBuildTests {
    struct Setup {
        let db: AppDatabase
        let ingestor: Ingestor
        let account: Int64

        init() async throws {
            let base = try await AccountDatabase()
            (db, account, ingestor) = (base.db, base.account, base.ingestor)
        }

        func event(_ uid: String, _ name: String, second: Int, tour: String = "t") async throws {
            let body = #"{"uid":"\#(uid)","name":"\#(name)","tour_id":"\#(tour)","timestamp":"2026-02-10T00:00:\#(String(format: "%02d", second))Z"}"#
            _ = try await ingestor.ingest(.event, account: account, body: Array(body.utf8))
        }

        func nameID(_ uid: String) async throws -> Int64 {
            try #require(try await db.read { db in try Int64.fetchOne(db, sql: "SELECT id FROM event_names WHERE uid = ?", arguments: [uid]) })
        }

        /// As every deletion of events does (`WriteSession.deleteEvents`): out of the lists, then out of the log.
        func deleteEvent(_ id: Int64) async throws {
            try await db.write { db in
                try ReportSteps.forget(eventsWhere: "id = ?", arguments: [id], db)
                try db.execute(sql: "DELETE FROM events WHERE id = ?", arguments: [id])
            }
        }

        func work() async throws -> ReportSteps.Work {
            try await db.read { db in try ReportSteps.nextWork(db, .standard) }
        }

        /// The lists' events in list order: (profile, time, event, value).
        func list() async throws -> [[DatabaseValue]] {
            try await db.read { db in
                try StepListRows.listed(db).map { [$0.profile.databaseValue, $0.event.timestamp.databaseValue, $0.event.event.databaseValue, $0.value] }
            }
        }

        func listedEvents() async throws -> [Int64] {
            try await db.read { db in try StepListRows.listed(db).map(\.event.event).sorted() }
        }
    }

    @Test func aListBuiltInManyPassesAndChunksHoldsExactlyItsEvents() async throws {
        let t = try await Setup()
        for i in 0..<30 {
            try await t.event("u\(i % 7)", i % 3 == 0 ? "Other" : "Step", second: i, tour: "t\(i % 4)")
        }
        let nameID = try await t.nameID("step")
        let path = PropertyPath(normalizing: ["tour_id"])!.jsonPath
        #expect(try await ReportSteps.prepare([ReportStep(nameID: nameID, path: path)], t.db, now: fixedNow) == .building(progress: 0))
        // After the first pass (3 profiles' rows at most, read 4 events at a time, written 2 at a time) the
        // list is part built: progress is the share of profiles done.
        let limits = ReportSteps.Limits(sliceEvents: 4, passRows: 5, chunkRows: 2)
        #expect(try await ReportSteps.step(t.db, now: fixedNow, limits: limits))
        guard case .building(let progress) = try await ReportSteps.prepare([ReportStep(nameID: nameID, path: path)], t.db, now: fixedNow) else {
            Issue.record("built in one pass")
            return
        }
        #expect(progress > 0 && progress < 1)
        while try await ReportSteps.step(t.db, now: fixedNow, limits: limits) {}
        guard case .ready = try await ReportSteps.prepare([ReportStep(nameID: nameID, path: path)], t.db, now: fixedNow) else {
            Issue.record("not built")
            return
        }
        let expected = try await t.db.read { db in
            try Row.fetchAll(
                db, sql: "SELECT profile_id, timestamp, id, json_extract(properties, ?) FROM events WHERE name_id = ? ORDER BY profile_id, timestamp, id",
                arguments: [path, nameID]
            ).map { Array($0.databaseValues) }
        }
        #expect(expected.count == 20)
        #expect(try await t.list() == expected)
    }

    @Test func aPassSkipsEventsDeletedSinceItsReadAndIsLetGoIfItsListMoved() async throws {
        let t = try await Setup()
        for i in 0..<6 { try await t.event("u\(i % 3)", "Step", second: i) }
        let nameID = try await t.nameID("step")
        _ = try await ReportSteps.prepare([ReportStep(nameID: nameID, path: "")], t.db, now: fixedNow)
        guard case .build(let build) = try await t.work() else {
            Issue.record("no list to build")
            return
        }
        let pass = ReportSteps.ListRows()
        try await t.db.backgroundRead { db in try pass.read(nameID: nameID, path: "", events: 1...build.through, after: build.after, db) }
        #expect(try await t.db.backgroundWork { pass.finish() }, "all rows fit in one pass")
        let events = pass.rows.map(\.event)
        #expect(events.count == 6)
        // An event deleted between the read and the write: its row is left out.
        try await t.deleteEvent(events[2])
        #expect(try await t.db.write { db in try ReportSteps.add(0..<4, of: pass, to: build, after: build.after, finishing: false, now: fixedNow, db) })
        // An event deleted after an unfinished pass added its row: the deletion takes it out.
        try await t.deleteEvent(events[0])
        // The same chunk again (the list has moved past it): let go, nothing added.
        #expect(try await !t.db.write { db in try ReportSteps.add(0..<4, of: pass, to: build, after: build.after, finishing: false, now: fixedNow, db) })
        #expect(try await t.db.write { db in try ReportSteps.add(4..<6, of: pass, to: build, after: pass.rows[3].profile, finishing: true, now: fixedNow, db) })
        let listed = try await t.listedEvents()
        #expect(listed == events.filter { $0 != events[2] && $0 != events[0] }.sorted())
        #expect(try await ReportSteps.step(t.db, now: fixedNow) == false, "the list is built and current")

        // Events after: a slice keeps the list current, with the same care.
        for i in 6..<9 { try await t.event("u\(i % 3)", "Step", second: i) }
        guard case .slice(let slice) = try await t.work() else {
            Issue.record("no slice to catch up")
            return
        }
        let tail = ReportSteps.ListRows()
        try await t.db.backgroundRead { db in try tail.read(nameID: nameID, path: "", events: (slice.from + 1)...slice.through, after: 0, db) }
        #expect(tail.rows.count == 3)
        try await t.deleteEvent(tail.rows[0].event)
        #expect(try await t.db.write { db in try ReportSteps.add(0..<3, of: tail, to: slice, moving: true, db) })
        #expect(try await !t.db.write { db in try ReportSteps.add(0..<3, of: tail, to: slice, moving: true, db) }, "the list moved past the slice")
        #expect(try await t.listedEvents().count == 6)
        #expect(try await ReportSteps.step(t.db, now: fixedNow) == false)
    }

    /// A funnel reads a profile's list row and the log's tail past it as one list in time order: here the
    /// tail's "Completed" falls between two listed ones, and only it is in the window after the entry.
    @Test func theTailsEventsFallInPlaceAmongAListsEvents() async throws {
        let t = try await Setup()
        func send(_ name: String, _ at: String, tour: String = "t") async throws {
            let body = #"{"uid":"ann","name":"\#(name)","tour_id":"\#(tour)","timestamp":"\#(at)"}"#
            _ = try await t.ingestor.ingest(.event, account: t.account, body: Array(body.utf8))
        }
        try await send("Started", "2026-02-02T00:00:00Z")
        try await send("Completed", "2026-02-01T00:00:00Z")
        try await send("Completed", "2026-02-06T00:00:00Z")
        let report = FunnelReport(database: t.db, clock: .fixed(fixedNow))
        let request = FunnelReport.Request(
            steps: ["Started", "Completed"], groupBy: PropertyPath(normalizing: ["tour_id"]), withinDays: 1,
            from: Timestamp.parseISO8601("2026-02-01T00:00:00Z")!, to: Timestamp.parseISO8601("2026-02-10T00:00:00Z")!, limit: 10)
        #expect(try await report.runBuildingInPlace(account: t.account, request).total.reached == [1, 0])
        try await send("Completed", "2026-02-02T12:00:00Z")
        guard case .ready(let result) = try await report.run(account: t.account, request) else {
            Issue.record("the lists were built")
            return
        }
        #expect(result.total.reached == [1, 1], "the tail's event counted in its place")
        #expect(result.groups?.map(\.value) == ["t"], "a value from the list and the same from the tail are one group")
        try await ReportSteps.catchUp(t.db, now: fixedNow)
        #expect(try await report.runBuildingInPlace(account: t.account, request) == result, "the same once in the list")

        // Where no server keeps the lists current (the CLI), a run brings them up to the log first.
        try await send("Completed", "2026-02-03T00:00:00Z")
        #expect(try await report.runBuildingInPlace(account: t.account, request) == result, "a later Completed adds no step")
        #expect(try await ReportSteps.step(t.db, now: fixedNow) == false, "nothing left for the lists to take in")
    }

    @Test func chunksNeverSplitAProfile() {
        let rows = [1, 1, 1, 2, 3, 3, 4].enumerated().map { ReportSteps.ListRow(profile: Int64($1), timestamp: 0, event: Int64($0), group: 0) }
        #expect(ReportSteps.chunks(rows, size: 2) == [0..<3, 3..<6, 6..<7])
        #expect(ReportSteps.chunks([], size: 2) == [0..<0])
    }
}
