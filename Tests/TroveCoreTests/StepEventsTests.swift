import Foundation
import GRDB
import Testing
@testable import TroveCore

/// A step list's packed events read back as written, and its grouping values go with their last event.
@Suite struct StepEventsTests {
    typealias Event = StepEvents.Event

    @Test func eventsReadBackAsWrittenWhateverTheirNumbers() {
        let events = [
            Event(timestamp: -86_400_000, event: 900, value: 0),
            Event(timestamp: -86_400_000, event: 901, value: 3),
            Event(timestamp: 0, event: 2, value: 1),
            Event(timestamp: 1_772_323_200_000, event: .max, value: 200),
            Event(timestamp: .max, event: 1, value: .max),
        ]
        let bytes = StepEvents.encode(events)
        #expect(StepEvents.decode(bytes) == events)
        #expect(StepEvents.decode([]) == [])
        // Bytes cut short end the list at the last whole event.
        let first = StepEvents.encode(Array(events.prefix(1))).count
        #expect(StepEvents.decode(Array(bytes.prefix(first + 2))) == Array(events.prefix(1)))
        #expect(StepEvents.decode([0x80, 0x80]) == [])
    }

    @Test func mergingAddsOnlyWhatIsNewInTimeOrder() {
        let old = [Event(timestamp: 10, event: 5, value: 1), Event(timestamp: 30, event: 7, value: 2)]
        let new = [Event(timestamp: 20, event: 9, value: 1), Event(timestamp: 30, event: 7, value: 2), Event(timestamp: 5, event: 11, value: 0)]
        let (all, added) = StepEvents.merged(old, adding: new + [new[0]])
        #expect(added == [new[0], new[2]])
        #expect(all.map(\.event) == [11, 5, 9, 7])
    }

    @Test func aValueGoesWithTheLastEventThatCarriesIt() async throws {
        let database = try await temporaryDatabase()
        try await database.write { db in
            var rows = StepListRows(db, list: 1)
            let tour = try rows.number(of: .string("tour-1"), key: 1)
            let five = try rows.number(of: .int(5), key: 2)
            let text = try rows.number(of: .string("5"), key: 3)
            #expect(Set([tour, five, text]).count == 3, "text 5 and integer 5 are different values")
            #expect(try rows.number(of: nil, key: 0) == 0)
            try rows.add([Event(timestamp: 1, event: 1, value: tour), Event(timestamp: 2, event: 2, value: five)], profile: 7)
            try rows.add([Event(timestamp: 3, event: 3, value: tour), Event(timestamp: 4, event: 4, value: text)], profile: 8)
            // Added again (a slice read twice): nothing counted twice.
            try rows.add([Event(timestamp: 3, event: 3, value: tour)], profile: 8)
            // Said to be new to the list but there already: merged, not written over.
            try rows.add([Event(timestamp: 5, event: 5, value: five)], profile: 7, fresh: true)
            #expect(try rows.events(of: 7).map(\.event) == [1, 2, 5])
            var later = StepListRows(db, list: 1)
            #expect(try later.number(of: .string("tour-1"), key: 1) == tour, "found again by a later writer")
            func values() throws -> [DatabaseValue] {
                try Row.fetchAll(db, sql: "SELECT value FROM report_step_values WHERE step_id = 1 ORDER BY id").map { $0[0] }
            }
            try rows.remove([1], profile: 7)
            try rows.flush()
            #expect(try values() == ["tour-1".databaseValue, 5.databaseValue, "5".databaseValue])
            try rows.remove([3, 4], profile: 8)
            try rows.flush()
            #expect(try values() == [5.databaseValue], "tour-1's last event and text 5's went")
            try rows.remove([2, 5], profile: 7)
            try rows.flush()
            #expect(try values() == [])
            #expect(try Int.fetchOne(db, sql: "SELECT count(*) FROM report_step_profiles") == 0, "a profile's row goes with its last event")
        }
    }
}
