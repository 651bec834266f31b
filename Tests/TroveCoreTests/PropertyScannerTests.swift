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
    ]
    static let paths: [[String]] = [["a"], ["b"], ["c", "f"], ["c"], ["g"], ["h"], ["i"], ["j"], ["k"], ["ünï"], ["a", "b", "c"], ["missing"], ["z"]]

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
