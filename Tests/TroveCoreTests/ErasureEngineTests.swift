import Testing
import TroveTestEngines
@testable import TroveCore

/// Erasure of several people at once (a company's, with cascade) on every engine: their events in shared
/// batches, their last steps grouped, one scrub per group — with the same receipts and the same traces left
/// (none) as one person at a time.
@Suite struct ErasureEngineTests {
    static let now = Timestamp.parseISO8601("2026-03-01T12:00:00Z")!

    @Test(arguments: TestEngine.available)
    func peopleErasedTogetherGoWholeAndTheirTracesWithThem(engine: TestEngine) async throws {
        try await engine.withStores(clock: .fixed(Self.now)) { (stores: TestStores) async throws in
            let accounts = Accounts(store: stores.accounts)
            _ = try await accounts.create(name: "acme")
            let account = try #require(try await accounts.accountID(named: "acme"))
            let ingestor = Ingestor(store: stores.ingest)
            // Five people with 0–4 events each, every one with values of their own ("Quokka-<uid>-…"); "keep"
            // shares one with "p2", which leaves the catalog's examples too (they do not say whose they were).
            var ids: [String: Int64] = [:]
            for (n, uid) in ["p0", "p1", "p2", "p3", "keep"].enumerated() {
                let shared = uid == "keep" || uid == "p2" ? #","team":"Shared-Team-Name""# : ""
                ids[uid] = try await ingestor.ingest(.profile, account: account, body: Array(
                    #"{"uid":"\#(uid)","motto":"Quokka-\#(uid)-motto"\#(shared)}"#.utf8))
                for e in 0..<n {
                    _ = try await ingestor.ingest(.event, account: account, body: Array(
                        #"{"uid":"\#(uid)","name":"Clicked","label":"Quokka-\#(uid)-event-\#(e)"}"#.utf8))
                }
            }
            let erasure = Erasure(store: stores.ingest, reads: stores.erasure, batch: 3, group: 2)
            let missing: Int64 = 9_999_999
            let people = try ["p0", "p1", "p2", "p3"].map { try #require(ids[$0]) }
            let receipts = try await erasure.forget(account: account, profiles: [people[0], missing, people[1], people[2], people[3]], source: .company)

            #expect(receipts.map(\.profileID) == people, "the one that does not exist is left out")
            #expect(receipts.map(\.deletion.events) == [0, 1, 2, 3])
            #expect(receipts.allSatisfy { $0.deletion.profiles == 1 && $0.deletion.source == .company })
            for uid in ["p0", "p1", "p2", "p3"] {
                await #expect(throws: ReadError.self) {
                    _ = try await stores.objects.profile(account: account, .uid(uid), expandCompany: false, expandSegments: false)
                }
            }
            let kept = try await stores.objects.profile(account: account, .uid("keep"), expandCompany: false, expandSegments: false)
            #expect(kept.profile.id == ids["keep"])
            #expect(try await stores.catalog.eventNames(account: account).map(\.count) == [4], "keep's four events stay")

            let examples = try await stores.catalog.properties(account: account, model: nil).flatMap(\.examples)
            let quoted = examples.compactMap(\.stringValue).filter { $0.hasPrefix("Quokka-") }
            #expect(quoted.allSatisfy { $0.hasPrefix("Quokka-keep-") } && quoted.contains("Quokka-keep-motto"), "\(quoted)")
            #expect(examples.contains(.string("Shared-Team-Name")) == false, "a value an erased person had goes, even if another has it too")

            #expect(try await erasure.forget(account: account, profiles: people, source: .company).isEmpty, "nobody is left to erase")
        }
    }
}

/// How an erasure tells a person's values in the texts it scrubs.
@Suite struct PersonValuesTests {
    @Test func valuesAreFoundWholeOrQuotedByteForByte() {
        var values = PersonValues()
        values.add("ann@example.com")
        values.add("Zoë Ångström")
        values.add("abc")
        values.add(JSON.object([JSONMember("city", .string("Reykjavík")), JSONMember("n", .int(5))]))
        #expect(values.count == 4)
        #expect(values.quoted(in: "abc"), "a short value counts when the text is that value")
        #expect(!values.quoted(in: "xabcx"), "and not inside another text")
        #expect(values.quoted(in: #"{"error":"conflict","email":"ann@example.com"}"#))
        #expect(values.quoted(in: "name Zoë Ångström here"))
        #expect(values.quoted(in: "…Reykjavík"))
        #expect(!values.quoted(in: "Zoe Angstrom"))
        #expect(!values.quoted(in: "ann@example.co"))
        #expect(!values.quoted(in: ""))
        #expect(values.kept(examples: [.string("Reykjavík"), .int(5), .string("Oslo")]) == [.int(5), .string("Oslo")])
        #expect(values.kept(examples: [.string("Oslo")]) == nil)
    }
}
