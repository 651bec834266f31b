import Testing
@testable import TroveCore

/// The funnel numbers grouping values as it meets them: the same value always gets the same id, different
/// values (text "5" and the number 5 among them) never share one, however many there are.
struct GroupInternerTests {
    @Test func eachValueKeepsOneIdThroughGrowth() {
        var interner = FunnelReport.GroupInterner()
        #expect(interner.id(.null) == 0)
        let texts = (0..<3_000).map { Array("tour-\($0)".utf8) }
        var ids: [Int32] = []
        for text in texts { ids.append(text.withUnsafeBufferPointer { interner.id(.text($0)) }) }
        let five = Array("5".utf8)
        let number = interner.id(.int(5)), real = interner.id(.double(5)), text = five.withUnsafeBufferPointer { interner.id(.text($0)) }
        #expect(Set(ids + [number, real, text]).count == texts.count + 3, "every value its own id")
        #expect(!ids.contains(0) && number != 0)
        for (text, id) in zip(texts, ids).reversed() {
            #expect(text.withUnsafeBufferPointer { interner.id(.text($0)) } == id)
        }
        #expect(interner.id(.int(5)) == number && interner.id(.double(5)) == real)
        #expect(five.withUnsafeBufferPointer { interner.id(.text($0)) } == text)
        #expect(interner.values[Int(ids[1234])] == .string("tour-1234"))
        #expect(interner.values[Int(number)] == .int(5) && interner.values[Int(text)] == .string("5"))
        #expect(interner.values.count == texts.count + 4)
    }
}
