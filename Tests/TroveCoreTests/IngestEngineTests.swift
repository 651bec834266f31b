import Testing
import TroveTestEngines
@testable import TroveCore

/// The ingest rules (contract §3–§4) on every engine: the same items, the same stored records.
@Suite struct IngestEngineTests {
    static let now = Timestamp.parseISO8601("2026-03-01T12:00:00Z")!

    static func item(_ model: Model, _ body: String) throws -> Ingestor.Item {
        try Ingestor.parseItem(try JSONParser.parse(Array(body.utf8)), model: model, normalizer: ValueNormalizer(now: now), source: .hook)
    }

    func account(_ stores: TestStores) async throws -> Int64 {
        let accounts = Accounts(store: stores.accounts)
        _ = try await accounts.create(name: "acme")
        return try #require(try await accounts.accountID(named: "acme"))
    }

    @Test(arguments: TestEngine.available)
    func profilesCompaniesAndEventsAreStoredAndMerged(engine: TestEngine) async throws {
        try await engine.withStores(clock: .fixed(Self.now)) { (stores: TestStores) async throws in
            let account = try await account(stores)
            let ingestor = Ingestor(store: stores.ingest)
            let id = try await ingestor.ingest(.profile, account: account, body: Array(#"""
                {"uid":"u1","email":"Ada@Example.com","plan":"pro","score":80,"company":{"uid":"c1","tier":"gold"}}
                """#.utf8))
            // A second upsert merges: a null removes a key, others replace or join.
            #expect(try await ingestor.ingest(.profile, account: account, body: Array(#"{"uid":"u1","plan":null,"seats":3}"#.utf8)) == id)
            _ = try await ingestor.ingest(.event, account: account, body: Array(#"{"uid":"u1","name":"Completed Tour","timestamp":"2026-02-28T10:00:00Z","step":2}"#.utf8))
            _ = try await ingestor.ingest(.event, account: account, body: Array(#"{"uid":"u1","name":"Completed Tour","timestamp":"2026-02-27T10:00:00Z"}"#.utf8))
            // An event for an unknown uid creates its profile.
            _ = try await ingestor.ingest(.event, account: account, body: Array(#"{"uid":"u2","name":"Signed Up"}"#.utf8))

            let view = try await stores.objects.profile(account: account, .uid("u1"), expandCompany: true, expandSegments: true)
            #expect(view.profile.id == id)
            #expect(view.profile.email == "ada@example.com")
            #expect(Dictionary(uniqueKeysWithValues: view.profile.properties.map { ($0.key, $0.value) }) == ["score": .int(80), "seats": .int(3)])
            #expect(view.profile.lastSeenAt == Timestamp.parseISO8601("2026-02-28T10:00:00Z"))
            let company = try #require(view.company ?? nil)
            #expect(company.uid == "c1" && company.properties.map(\.key) == ["tier"])
            #expect(view.segments == [])
            let created = try await stores.objects.profile(account: account, .uid("u2"), expandCompany: false, expandSegments: false)
            #expect(created.profile.lastSeenAt == Self.now)
            #expect(try await stores.objects.company(account: account, .uid("c1")).id == company.id)
        }
    }

    /// Uids are bytes, as the unique index compares them: "é" and "e\u{301}" (the same text, canonically) are
    /// two profiles, each one's events stay on it once the writer has both ids cached, and a manual segment's
    /// lookup finds each.
    @Test(arguments: TestEngine.available)
    func canonicallyEquivalentUidsAreTwoProfiles(engine: TestEngine) async throws {
        try await engine.withStores(clock: .fixed(Self.now)) { (stores: TestStores) async throws in
            let account = try await account(stores)
            let ingestor = Ingestor(store: stores.ingest)
            let composed = try await ingestor.ingest(.profile, account: account, body: Array(#"{"uid":"\u00e9"}"#.utf8))
            let decomposed = try await ingestor.ingest(.profile, account: account, body: Array(#"{"uid":"e\u0301"}"#.utf8))
            #expect(composed != decomposed)
            for day in 1...3 {
                _ = try await ingestor.ingest(.event, account: account, body: Array(#"{"uid":"\u00e9","name":"Paid","timestamp":"2026-02-0\#(day)T00:00:00Z"}"#.utf8))
                _ = try await ingestor.ingest(.event, account: account, body: Array(#"{"uid":"e\u0301","name":"Paid","timestamp":"2026-01-0\#(day)T00:00:00Z"}"#.utf8))
            }
            let first = try await stores.objects.profile(account: account, .uid("\u{e9}"), expandCompany: false, expandSegments: false)
            let second = try await stores.objects.profile(account: account, .uid("e\u{301}"), expandCompany: false, expandSegments: false)
            #expect(first.profile.id == composed && first.profile.lastSeenAt == Timestamp.parseISO8601("2026-02-03T00:00:00Z"))
            #expect(second.profile.id == decomposed && second.profile.lastSeenAt == Timestamp.parseISO8601("2026-01-03T00:00:00Z"))
            // A manual segment's lookup by uid tells them apart too.
            let found = try await stores.manual.profileIDs(account: account, [(uid: "e\u{301}", email: nil), (uid: "\u{e9}", email: nil)])
            #expect(found == [decomposed, composed])
        }
    }

    @Test(arguments: TestEngine.available)
    func conflictingIdentifiersAndDuplicatesLeaveNoTrace(engine: TestEngine) async throws {
        try await engine.withStores(clock: .fixed(Self.now)) { (stores: TestStores) async throws in
            let account = try await account(stores)
            let ingestor = Ingestor(store: stores.ingest)
            _ = try await ingestor.ingest(.profile, account: account, body: Array(#"{"uid":"a","email":"a@x.io"}"#.utf8))
            _ = try await ingestor.ingest(.profile, account: account, body: Array(#"{"uid":"b","email":"b@x.io"}"#.utf8))
            await #expect(throws: IngestError.self) {
                try await ingestor.ingest(.profile, account: account, body: Array(#"{"uid":"a","email":"b@x.io","plan":"x"}"#.utf8))
            }
            let a = try await stores.objects.profile(account: account, .uid("a"), expandCompany: false, expandSegments: false)
            #expect(a.profile.properties.isEmpty && a.profile.email == "a@x.io")
            let first = try await ingestor.ingest(.event, account: account, body: Array(#"{"uid":"a","name":"Paid","message_id":"m-1"}"#.utf8))
            let outcomes = try await ingestor.ingest(items: [try Self.item(.event, #"{"uid":"a","name":"Paid","message_id":"m-1"}"#)], account: account)
            #expect(outcomes == [.duplicate(first)])
            // A batch: a bad item fails alone, the rest is stored.
            let batch = try await ingestor.ingest(
                items: [
                    try Self.item(.profile, #"{"uid":"c","plan":"pro"}"#), try Self.item(.profile, #"{"uid":"a","email":"b@x.io"}"#),
                    try Self.item(.company, #"{"uid":"co"}"#),
                ], account: account)
            #expect(batch.count == 3)
            #expect(batch[0].rowID != nil && batch[2].rowID != nil)
            if case .failed = batch[1] {} else { Issue.record("expected the conflicting item to fail, got \(batch[1])") }
            #expect(try await stores.objects.profile(account: account, .uid("c"), expandCompany: false, expandSegments: false).profile.properties.map(\.key) == ["plan"])
        }
    }
}

extension IngestEngineTests {
    /// Writers at the same moment (PostgreSQL runs them concurrently): one profile, and every merge kept.
    @Test(arguments: TestEngine.available)
    func concurrentUpsertsOfOneNewProfileKeepEveryMerge(engine: TestEngine) async throws {
        try await engine.withStores(clock: .fixed(Self.now)) { (stores: TestStores) async throws in
            let account = try await account(stores)
            let ingestor = Ingestor(store: stores.ingest)
            let ids = try await withThrowingTaskGroup(of: Int64.self) { group in
                for i in 0..<12 {
                    group.addTask {
                        try await ingestor.ingest(.profile, account: account, body: Array(#"{"uid":"race","k\#(i)":\#(i),"company":{"uid":"co","n\#(i)":1}}"#.utf8))
                    }
                }
                return try await group.reduce(into: Set<Int64>()) { $0.insert($1) }
            }
            #expect(ids.count == 1)
            let view = try await stores.objects.profile(account: account, .uid("race"), expandCompany: true, expandSegments: false)
            #expect(Set(view.profile.properties.map(\.key)) == Set((0..<12).map { "k\($0)" }))
            #expect(Set((view.company ?? nil)?.properties.map(\.key) ?? []) == Set((0..<12).map { "n\($0)" }))
        }
    }
}

extension IngestEngineTests {
    @Test(arguments: TestEngine.available)
    func theCatalogLearnsNamesTypesExamplesAndWarnings(engine: TestEngine) async throws {
        try await engine.withStores(clock: .fixed(Self.now)) { (stores: TestStores) async throws in
            let account = try await account(stores)
            let ingestor = Ingestor(store: stores.ingest)
            _ = try await ingestor.ingest(.profile, account: account, body: Array(#"{"uid":"a","Plan Name":"pro","address":{"city":"Oslo"}}"#.utf8))
            _ = try await ingestor.ingest(.profile, account: account, body: Array(#"{"uid":"b","plan_name":"team","score":"2026-01-02T00:00:00Z"}"#.utf8))
            for uid in ["c", "d"] { _ = try await ingestor.ingest(.profile, account: account, body: Array(#"{"uid":"\#(uid)","list":[{"a":1}]}"#.utf8)) }
            for _ in 0..<3 { _ = try await ingestor.ingest(.event, account: account, body: Array(#"{"uid":"a","name":"Completed Tour"}"#.utf8)) }
            _ = try await ingestor.ingest(.event, account: account, body: Array(#"{"uid":"b","name":"Signed Up","timestamp":"2026-02-01T00:00:00Z"}"#.utf8))

            let properties = try await stores.catalog.properties(account: account, model: .profile)
            #expect(properties.map(\.prop) == ["address", "address.city", "list", "plan_name", "score"])
            let plan = try #require(properties.first { $0.prop == "plan_name" })
            #expect(plan.name == "Plan Name" && plan.types == ["string"] && plan.examples == [.string("team"), .string("pro")])
            #expect(properties.first { $0.prop == "score" }?.types == ["timestamp"])
            #expect(properties.first { $0.prop == "address" }?.types == ["hash"])
            let names = try await stores.catalog.eventNames(account: account)
            #expect(names.map(\.name) == ["Completed Tour", "Signed Up"] && names.map(\.count) == [3, 1])
            #expect(names.map(\.lastSeenAt) == [Self.now, Timestamp.parseISO8601("2026-02-01T00:00:00Z")])
            let warnings = try await stores.catalog.warnings(account: account, model: nil)
            #expect(warnings.map { "\($0.model) \($0.prop) \($0.kind) \($0.count)" } == ["profile list hash_in_array 2"])
            #expect(warnings.first?.exampleUID == "d")
        }
    }
}

extension IngestEngineTests {
    /// Newest first by (timestamp, id), whatever order the events came in; pages by cursor; a name filter.
    @Test(arguments: TestEngine.available)
    func aPersonsTimelinePagesNewestFirst(engine: TestEngine) async throws {
        try await engine.withStores(clock: .fixed(Self.now)) { (stores: TestStores) async throws in
            let account = try await account(stores)
            let ingestor = Ingestor(store: stores.ingest)
            let sent = [("A", "2026-02-01T00:00:00Z"), ("B", "2026-02-03T00:00:00Z"), ("A", "2026-01-15T00:00:00Z"), ("C", "2026-02-03T00:00:00Z"), ("B", "2026-02-02T00:00:00Z")]
            var ids: [Int64] = []
            for (name, time) in sent {
                ids.append(try await ingestor.ingest(.event, account: account, body: Array(#"{"uid":"t","name":"\#(name)","timestamp":"\#(time)","n":"\#(name)\#(time)"}"#.utf8)))
            }
            _ = try await ingestor.ingest(.event, account: account, body: Array(#"{"uid":"other","name":"A"}"#.utf8))
            let expected = [ids[3], ids[1], ids[4], ids[0], ids[2]]  // C and B share a time: the later id first
            var seen: [Int64] = []
            var cursor: TimelineCursor?
            repeat {
                let page = try await stores.timelines.timeline(account: account, try TimelineRequest(person: .uid("t"), limit: 2, before: cursor))
                seen += page.events.map(\.id)
                cursor = page.before
            } while cursor != nil
            #expect(seen == expected)
            let onlyA = try await stores.timelines.timeline(account: account, try TimelineRequest(person: .uid("t"), name: "a"))
            #expect(onlyA.events.map(\.id) == [ids[0], ids[2]] && onlyA.events.map(\.name) == ["A", "A"])
            #expect(onlyA.events.first?.properties.first?.value == .string("A2026-02-01T00:00:00Z"))
            let none = try await stores.timelines.timeline(account: account, try TimelineRequest(person: .uid("t"), name: "never"))
            #expect(none.events.isEmpty)
            await #expect(throws: ReadError.self) { try await stores.timelines.timeline(account: account, try TimelineRequest(person: .uid("nobody"))) }
        }
    }
}

extension IngestEngineTests {
    /// `message_id` within one batch and across batches written at the same moment: each key stored once,
    /// every later use of it a duplicate of that event (PostgreSQL writes a chunk's keyed events together).
    @Test(arguments: TestEngine.available)
    func keyedEventsInBatchesAreStoredOnceEachEvenWhenBatchesRace(engine: TestEngine) async throws {
        try await engine.withStores(clock: .fixed(Self.now)) { (stores: TestStores) async throws in
            let account = try await account(stores)
            let ingestor = Ingestor(store: stores.ingest)
            let first = try await ingestor.ingest(.event, account: account, body: Array(#"{"uid":"a","name":"Paid","message_id":"m-1"}"#.utf8))
            let batch = try await ingestor.ingest(
                items: try [
                    #"{"uid":"a","name":"Paid","message_id":"m-1"}"#, #"{"uid":"a","name":"Paid","message_id":"m-2"}"#,
                    #"{"uid":"b","name":"Paid","message_id":"m-2"}"#, #"{"uid":"new","name":"Joined","message_id":"m-3"}"#,
                    #"{"uid":"a","name":"Paid"}"#,
                ].map { try Self.item(.event, $0) }, account: account)
            #expect(batch[0] == .duplicate(first))
            guard case .stored(let m2) = batch[1], case .stored(let m3) = batch[3], case .stored(let plain) = batch[4] else {
                Issue.record("expected stored events, got \(batch)")
                return
            }
            #expect(batch[2] == .duplicate(m2))
            #expect(Set([first, m2, m3, plain]).count == 4)
            // "b" was named only by a duplicate: nothing of it was created.
            await #expect(throws: (any Error).self) {
                try await stores.objects.profile(account: account, .uid("b"), expandCompany: false, expandSegments: false)
            }

            // Eight batches of the same twenty new keys at once.
            let keys = (0..<20).map { "race-\($0)" }
            let outcomes = try await withThrowingTaskGroup(of: [ItemOutcome].self) { group in
                for task in 0..<8 {
                    group.addTask {
                        try await ingestor.ingest(
                            items: try keys.map { try Self.item(.event, #"{"uid":"u\#(task)","name":"Raced","message_id":"\#($0)"}"#) }, account: account)
                    }
                }
                return try await group.reduce(into: [[ItemOutcome]]()) { $0.append($1) }
            }
            for (k, key) in keys.enumerated() {
                let forKey = outcomes.map { $0[k] }
                #expect(forKey.filter { if case .stored = $0 { true } else { false } }.count == 1, "\(key): \(forKey)")
                #expect(Set(forKey.compactMap(\.rowID)).count == 1 && forKey.allSatisfy { $0.rowID != nil }, "\(key): \(forKey)")
            }
            let names = try await stores.catalog.eventNames(account: account)
            #expect(names.first { $0.name == "Raced" }?.count == 20)
            #expect(names.first { $0.name == "Paid" }?.count == 3)
        }
    }
}

extension IngestEngineTests {
    /// Text with the bytes a bulk load must escape (backslashes, tabs, newlines, carriage returns; PostgreSQL
    /// loads new events and profiles with `COPY`) and non-ASCII comes back exactly: names, keys, uids and
    /// property values.
    @Test(arguments: TestEngine.available)
    func eventTextWithEscapesAndNonASCIIComesBackExactly(engine: TestEngine) async throws {
        try await engine.withStores(clock: .fixed(Self.now)) { (stores: TestStores) async throws in
            let account = try await account(stores)
            let ingestor = Ingestor(store: stores.ingest)
            let key = #"m\\1\t2\n3\r4 \"é\""#
            let properties = #""note":"a\\b\tc\nd\re \"q\" é 💥","path":"C:\\dir\\","empty":"","slash":"\\N""#
            let outcomes = try await ingestor.ingest(items: try [
                #"{"uid":"esc","name":"Paid \\ Plan","timestamp":"2026-02-01T00:00:00Z","message_id":"\#(key)",\#(properties)}"#,
                #"{"uid":"esc","name":"PAID \\ PLAN","timestamp":"2026-02-02T00:00:00Z","tab":"\t"}"#,
            ].map { try Self.item(.event, $0) }, account: account)
            guard case .stored(let first) = outcomes[0], case .stored = outcomes[1] else {
                Issue.record("expected two stored events, got \(outcomes)")
                return
            }
            // The key was stored as sent: sending it again is a duplicate of the first.
            let again = try await ingestor.ingest(items: [try Self.item(.event, #"{"uid":"esc","name":"Paid","message_id":"\#(key)"}"#)], account: account)
            #expect(again == [.duplicate(first)])

            let page = try await stores.timelines.timeline(account: account, try TimelineRequest(person: .uid("esc")))
            #expect(page.events.map(\.name) == ["PAID \\ PLAN", "Paid \\ Plan"])
            let stored = Dictionary(uniqueKeysWithValues: try #require(page.events.last).properties.map { ($0.key, $0.value) })
            #expect(stored == ["note": .string("a\\b\tc\nd\re \"q\" é 💥"), "path": .string("C:\\dir\\"), "empty": .string(""), "slash": .string("\\N")])
            #expect(page.events.first?.properties.first?.value == .string("\t"))

            // Profiles load the same way.
            _ = try await ingestor.ingest(items: [try Self.item(.profile, #"{"uid":"p\\1\tx","bio":"x\\y\tz\n\r é","dir":"\\N"}"#)], account: account)
            let profile = try await stores.objects.profile(account: account, .uid("p\\1\tx"), expandCompany: false, expandSegments: false).profile
            #expect(Dictionary(uniqueKeysWithValues: profile.properties.map { ($0.key, $0.value) }) == ["bio": .string("x\\y\tz\n\r é"), "dir": .string("\\N")])
        }
    }
}
