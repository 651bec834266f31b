import Testing
@testable import TroveCore

/// The export's one-pass property scanner agrees with a full parse on the shapes stored JSON takes.
@Suite struct PropertyScannerTests {
    static let documents = [
        #"{"a":1,"b":"two","c":{"d":[1,{"e":"}"}],"f":"x\"y"},"g":true,"h":null,"i":"back\\slash","j":[],"k":{}}"#,
        #"{ "a" : -1.5e3 , "b" : "sp aced" , "c" : { "f" : "z" } }"#,
        #"{"ünï":"ç","a":"[not an array]","b":"{","c":"plain"}"#,
        #"{}"#,
        #"{"a":{"b":{"c":"deep"}},"z":1}"#,
        // Quotes and backslashes before, at and past a string's first 8 bytes (the scan reads 8 at a time).
        #"{"long_key_name_here":"0123456789abcdef\"0123456789","k2":"\\0123456789abcdefg","k3":"01234567\\\\","k4":"0123456\"","z":2}"#,
    ]
    static let paths: [[String]] = [["a"], ["b"], ["c", "f"], ["c"], ["g"], ["h"], ["i"], ["j"], ["k"], ["ünï"], ["a", "b", "c"], ["missing"], ["z"], ["long_key_name_here"], ["k2"], ["k3"], ["k4"]]

    @Test(arguments: documents)
    func findsWhatAFullParseFinds(_ document: String) throws {
        let parsed = try JSONParser.parse(Array(document.utf8))
        let scanner = PropertyScanner(paths: Self.paths)
        var ranges = [Range<Int>?](repeating: nil, count: Self.paths.count)
        let bytes = Array(document.utf8)
        bytes.withUnsafeBufferPointer { b in scanner.scan(b, into: &ranges) }
        for (slot, path) in Self.paths.enumerated() {
            var expected: JSON? = parsed
            for key in path { expected = expected?[key] }
            let found = try ranges[slot].map { try JSONParser.parse(Array(bytes[$0])) }
            #expect(found == expected, "\(path) in \(document)")
        }
    }
}

extension PropertyScannerTests {
    /// Keys alike in length and in their first 8 bytes, rows with their keys in different orders, a path
    /// asked for twice: each slot gets its own key's value, whatever the row before looked like.
    @Test func keysAlikeInTheirFirstBytesAreToldApart() throws {
        let paths: [[String]] = [["upsell_readiness_score"], ["upsell_readiness_scorE"], ["upsell_r"], ["upsell_"], ["plan"], ["plan"]]
        let rows = [
            #"{"upsell_readiness_score":80,"upsell_readiness_scorE":1,"upsell_r":2,"upsell_":3,"plan":"pro"}"#,
            #"{"plan":"free","upsell_":4,"upsell_readiness_scorE":5,"upsell_readiness_score":6}"#,
            #"{"upsell_readiness_scor":7,"upsell_rx":8,"upsell":9}"#,
        ]
        let scanner = PropertyScanner(paths: paths)
        var ranges = [Range<Int>?](repeating: nil, count: paths.count)
        for row in rows {
            let bytes = Array(row.utf8)
            let parsed = try JSONParser.parse(bytes)
            bytes.withUnsafeBufferPointer { b in scanner.scan(b, into: &ranges) }
            for (slot, path) in paths.enumerated() {
                let found = try ranges[slot].map { try JSONParser.parse(Array(bytes[$0])) }
                #expect(found == parsed[path[0]], "\(path) in \(row)")
            }
        }
    }
}
