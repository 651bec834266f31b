import Foundation
import TroveCore

/// The contract §12 reference data set: companies, profiles and events as NDJSON in the shapes the hooks take,
/// generated from a seed (same seed and sizes → byte-identical files).
///
/// Besides the files, the generator counts the members of the reference segment itself — score ≥ 80,
/// plan = pro, company.employees > 50, ≥ 2 × "Completed Tour (Chameleon)" in the last 30 days — from the
/// values it drew, independently of Trove's segment engine, so the engine can be checked against it.
public struct ReferenceDataSet: Sendable {
    public struct Size: Sendable, Equatable {
        public var profiles: Int
        public var companies: Int
        public var events: Int

        public init(profiles: Int, companies: Int, events: Int) {
            self.profiles = profiles
            self.companies = companies
            self.events = events
        }

        /// The reference proportions for `events` events: one profile per 10 events, one company per 50
        /// profiles (exactly the reference sizes for 10M).
        public static func scaled(events: Int) -> Size {
            let profiles = max(1, events / 10)
            return Size(profiles: profiles, companies: max(1, profiles / 50), events: events)
        }
    }

    public static let referenceSize = Size(profiles: 1_000_000, companies: 20_000, events: 10_000_000)
    public static let defaultSeed: UInt64 = 42
    /// The fixed "now" the events end at; run segment evaluations with `--now` set to it.
    public static let now = Timestamp.parseISO8601("2026-03-01T00:00:00.000Z")!
    public static let spanDays = 90
    public static let windowDays = 30
    public static let fileNames = (profiles: "profiles.ndjson", companies: "companies.ndjson", events: "events.ndjson")

    /// The reference segment in the Chameleon grammar (contract §6), as `trove segments create` takes it.
    public static let referenceSegment: JSON = [
        "name": "Reference segment",
        "description": "score ≥ 80, plan pro, company over 50 employees, 2+ completed tours in 30 days",
        "items_op": "and",
        "items": [
            ["kind": "property", "prop": "upsell_readiness_score", "op": "gte", "value": 80],
            ["kind": "property", "prop": "plan", "op": "eq", "value": "pro"],
            ["kind": "property", "prop": "company.employees", "op": "gt", "value": 50],
            [
                "kind": "event", "value": "Completed Tour (Chameleon)", "mod": "gte", "range": 2, "cond": "gt-d",
                "int": 30,
            ],
        ],
    ]

    public var seed: UInt64
    public var size: Size

    public init(seed: UInt64 = defaultSeed, size: Size = referenceSize) {
        self.seed = seed
        self.size = size
    }

    /// Writes the three files into `directory` (created if missing) plus `manifest.json`.
    public func write(to directory: String, log: (String) -> Void = { _ in }) throws -> DataSetManifest {
        guard size.profiles > 0, size.companies > 0, size.events >= 0, size.profiles <= Int(UInt32.max) else {
            throw DataSetError(message: "sizes must be positive (events may be 0)")
        }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var generator = DataSetGenerator(seed: seed, size: size, now: Self.now.milliseconds)

        log("companies: \(size.companies)")
        let companies = try OutputFile(path: directory + "/" + Self.fileNames.companies)
        try generator.writeCompanies(to: companies)
        try companies.close()

        log("profiles: \(size.profiles)")
        let profiles = try OutputFile(path: directory + "/" + Self.fileNames.profiles)
        try generator.writeProfiles(to: profiles)
        try profiles.close()

        log("events: \(size.events)")
        let events = try OutputFile(path: directory + "/" + Self.fileNames.events)
        let members = try generator.writeEvents(to: events)
        try events.close()

        let manifest = DataSetManifest(
            seed: seed, size: size, now: Self.now, spanDays: Self.spanDays, expectedReferenceSegmentMembers: members)
        try Data(JSONWriter.bytes(manifest.json) + [UInt8(ascii: "\n")])
            .write(to: URL(fileURLWithPath: directory + "/" + DataSetManifest.fileName))
        return manifest
    }
}

/// What `trove generate` wrote, kept beside the files as `manifest.json`.
public struct DataSetManifest: Sendable, Equatable {
    public static let fileName = "manifest.json"

    public var seed: UInt64
    public var size: ReferenceDataSet.Size
    public var now: Timestamp
    public var spanDays: Int
    public var expectedReferenceSegmentMembers: Int

    public var json: JSON {
        [
            "seed": .int(Int64(bitPattern: seed)),
            "now": .string(now.iso8601),
            "span_days": .int(Int64(spanDays)),
            "profiles": .int(Int64(size.profiles)),
            "companies": .int(Int64(size.companies)),
            "events": .int(Int64(size.events)),
            "files": [
                "profiles": .string(ReferenceDataSet.fileNames.profiles),
                "companies": .string(ReferenceDataSet.fileNames.companies),
                "events": .string(ReferenceDataSet.fileNames.events),
            ],
            "reference_segment": ReferenceDataSet.referenceSegment,
            "expected_reference_segment_members": .int(Int64(expectedReferenceSegmentMembers)),
        ]
    }

    public static func read(directory: String) throws -> DataSetManifest {
        let path = directory + "/" + fileName
        guard let data = FileManager.default.contents(atPath: path) else {
            throw DataSetError(message: "no \(fileName) in \(directory): run `trove generate --output \(directory)` first")
        }
        let json = try JSONParser.parse([UInt8](data))
        func int(_ key: String) throws -> Int {
            guard case .int(let v)? = json[key] else { throw DataSetError(message: "\(path): \(key) missing") }
            return Int(v)
        }
        guard let nowText = json["now"]?.stringValue, let now = Timestamp.parseISO8601(nowText) else {
            throw DataSetError(message: "\(path): now missing")
        }
        return DataSetManifest(
            seed: UInt64(bitPattern: Int64(try int("seed"))),
            size: .init(profiles: try int("profiles"), companies: try int("companies"), events: try int("events")),
            now: now, spanDays: try int("span_days"),
            expectedReferenceSegmentMembers: try int("expected_reference_segment_members"))
    }
}
