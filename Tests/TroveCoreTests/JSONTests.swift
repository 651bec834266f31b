import Testing
@testable import TroveCore

@Suite struct JSONParserTests {
    func parse(_ text: String) throws(JSONParseError) -> JSON { try JSONParser.parse(Array(text.utf8)) }

    @Test func parsesValuesKeepingOrderAndIntegers() throws {
        let v = try parse(#"{"b":1,"a":[true,false,null,-5,1.5,"x\n\u00e9\ud83d\ude00"],"big":12345678901234567890}"#)
        guard case .object(let members) = v else { Issue.record("not an object"); return }
        #expect(members.map(\.key) == ["b", "a", "big"])
        #expect(v["b"] == .int(1))
        #expect(v["a"] == .array([.bool(true), .bool(false), .null, .int(-5), .double(1.5), .string("x\né😀")]))
        #expect(v["big"] == .double(12345678901234567890))
    }

    @Test(arguments: ["", "{", "[1,]", "{\"a\" 1}", "01", "1.", "\"abc", "tru", "{} x", "\"\\x\"", "\"\\ud800\"", "[1 2]", "\"a\\u0000\"", "{\"\\u0000\":1}"])
    func rejectsMalformed(_ text: String) {
        #expect(throws: JSONParseError.self) { try parse(text) }
    }

    @Test func rejectsInvalidUTF8WithItsOffset() {
        let bytes: [UInt8] = Array(#"{"a":""#.utf8) + [0xC3, 0x28] + Array(#""}"#.utf8)
        do {
            _ = try JSONParser.parse(bytes)
            Issue.record("accepted invalid UTF-8")
        } catch {
            #expect(error.kind == .invalidUTF8)
            #expect(error.offset == 6)
        }
    }

    @Test func boundsNestingAt64Levels() throws {
        let ok = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        _ = try parse(ok)
        let deep = String(repeating: "[", count: 65) + String(repeating: "]", count: 65)
        do {
            _ = try parse(deep)
            Issue.record("accepted 65 levels")
        } catch {
            #expect(error.kind == .tooDeep)
        }
    }

    @Test func writesCompactlyWithIntegralNumbersWithoutFraction() {
        let v: JSON = ["n": .double(1199320.0), "f": .double(12.12), "s": "a\"b\\c\u{01}", "a": [1, nil]]
        #expect(JSONWriter.string(v) == #"{"n":1199320,"f":12.12,"s":"a\"b\\c\u0001","a":[1,null]}"#)
    }

    @Test func roundTrips() throws {
        let text = #"{"a":{"b":[1,2.5,"x",true,null]},"c":"é😀"}"#
        #expect(JSONWriter.string(try parse(text)) == text)
    }
}

@Suite struct TimestampTests {
    @Test(arguments: [
        ("2029-08-21T02:46:46Z", "2029-08-21T02:46:46.000Z"),
        ("2029-08-21 02:46:46", "2029-08-21T02:46:46.000Z"),
        ("2029-08-21T04:46:46+02:00", "2029-08-21T02:46:46.000Z"),
        ("2029-08-20T21:46:46-0500", "2029-08-21T02:46:46.000Z"),
        ("2029-08-21T02:46:46.123456Z", "2029-08-21T02:46:46.123Z"),
        ("2029-08-21T02:46Z", "2029-08-21T02:46:00.000Z"),
        ("2029-08-21", "2029-08-21T00:00:00.000Z"),
        ("2024-02-29", "2024-02-29T00:00:00.000Z"),
        ("1969-12-31T23:59:59.999Z", "1969-12-31T23:59:59.999Z"),
    ])
    func parsesAndFormats(_ input: String, _ expected: String) {
        #expect(Timestamp.parseISO8601(input)?.iso8601 == expected)
    }

    @Test(arguments: ["2023-02-29", "2029-13-01", "2029-08-21T25:00:00Z", "2029-08-21X", "20290821", "2029-08-21T02:46:46+", "hello world"])
    func rejects(_ input: String) {
        #expect(Timestamp.parseISO8601(input) == nil)
    }
}
