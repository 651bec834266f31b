import Foundation
import Testing
import TroveBench
import TroveCore

@Suite struct ReferenceDataSetTests {
    static let small = ReferenceDataSet.Size(profiles: 2_000, companies: 60, events: 40_000)

    func generate(seed: UInt64, size: ReferenceDataSet.Size = small) throws -> (String, DataSetManifest) {
        let directory = try temporaryDirectory()
        return (directory, try ReferenceDataSet(seed: seed, size: size).write(to: directory))
    }

    func contents(_ directory: String, _ file: String) throws -> Data {
        try Data(contentsOf: URL(fileURLWithPath: directory + "/" + file))
    }

    @Test func theSameSeedGivesByteIdenticalFiles() throws {
        let (a, _) = try generate(seed: 7)
        let (b, _) = try generate(seed: 7)
        let (c, _) = try generate(seed: 8)
        defer { for d in [a, b, c] { try? FileManager.default.removeItem(atPath: d) } }
        for file in ["profiles.ndjson", "companies.ndjson", "events.ndjson", "manifest.json"] {
            #expect(try contents(a, file) == contents(b, file), "\(file) differs between two runs with seed 7")
        }
        #expect(try contents(a, "events.ndjson") != contents(c, "events.ndjson"))
    }

    /// Recounts the reference segment from the written files alone, the way a reader of contract §12 would,
    /// and checks the shapes the issue asks for.
    @Test func theExpectedMemberCountMatchesAnIndependentRecount() throws {
        let (directory, manifest) = try generate(seed: 42)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        func lines(_ file: String) throws -> [JSON] {
            try contents(directory, file).split(separator: UInt8(ascii: "\n")).map { try JSONParser.parse($0) }
        }
        let companies = try lines("companies.ndjson")
        let profiles = try lines("profiles.ndjson")
        let events = try lines("events.ndjson")
        #expect(companies.count == Self.small.companies && profiles.count == Self.small.profiles && events.count == Self.small.events)

        var employees: [String: Double] = [:]
        for c in companies { employees[c["uid"]!.stringValue!] = c["employees"]!.numberValue! }
        var candidates = Set<String>()
        var withoutCompany = 0
        for p in profiles {
            guard let company = p["company_uid"]?.stringValue else {
                withoutCompany += 1
                continue
            }
            if p["upsell_readiness_score"]!.numberValue! >= 80, p["plan"] == "pro", employees[company]! > 50 {
                candidates.insert(p["uid"]!.stringValue!)
            }
        }
        let windowStart = manifest.now.milliseconds - 30 * 86_400_000
        var completed: [String: Int] = [:]
        var tourIDsByStart: [String: String] = [:]
        var previous = Int64.min
        for e in events {
            let at = Timestamp.parseISO8601(e["timestamp"]!.stringValue!)!.milliseconds
            #expect(at >= previous, "events are in time order")
            #expect(at < manifest.now.milliseconds && at >= manifest.now.milliseconds - 90 * 86_400_000)
            previous = at
            let uid = e["uid"]!.stringValue!
            switch e["name"]!.stringValue! {
            case "Started Tour (Chameleon)": tourIDsByStart[uid] = e["tour_id"]!.stringValue!
            case "Completed Tour (Chameleon)", "Exited Tour (Chameleon)":
                #expect(e["tour_id"]?.stringValue != nil)
                if e["name"] == "Completed Tour (Chameleon)", at > windowStart { completed[uid, default: 0] += 1 }
            default: break
            }
        }
        let members = candidates.filter { completed[$0, default: 0] >= 2 }.count
        #expect(members == manifest.expectedReferenceSegmentMembers)
        #expect(members > 0)
        // 5% of profiles without a company, give or take the draw.
        #expect((60...140).contains(withoutCompany))
        #expect(Set(events.compactMap { $0["name"]?.stringValue }).count >= 30)
    }

    @Test func generateWritesTheFilesAndPrintsTheCountThroughTheCLI() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let ran = try ChildProcess.run(
            try troveExecutable(), ["generate", "--output", directory, "--seed", "3", "--profiles", "500", "--companies", "20", "--events", "5000", "--json"])
        #expect(ran.status == 0, "\(ran.errors)")
        let json = try JSONParser.parse(Array(ran.output.utf8))
        let manifest = try DataSetManifest.read(directory: directory)
        #expect(json["expected_reference_segment_members"] == .int(Int64(manifest.expectedReferenceSegmentMembers)))
        #expect(json["now"] == "2026-03-01T00:00:00.000Z")
        #expect(manifest.size == .init(profiles: 500, companies: 20, events: 5000))
    }
}
