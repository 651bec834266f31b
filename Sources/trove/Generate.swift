import ArgumentParser
import Foundation
import TroveBench

struct Generate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write the reference data set (docs/contract.md §12: profiles, companies, events as NDJSON) from a seed.",
        discussion: """
            The same seed and sizes give byte-identical files. Prints the reference segment's expected member \
            count, which the generator computes from the values it drew (not through Trove's segment engine).
            """)

    @Option(help: "Directory to write profiles.ndjson, companies.ndjson, events.ndjson and manifest.json into.")
    var output: String

    @Option(help: "Seed for the random draws.")
    var seed: UInt64 = ReferenceDataSet.defaultSeed

    @Option(help: "Number of profiles (default 1,000,000).")
    var profiles: Int = ReferenceDataSet.referenceSize.profiles

    @Option(help: "Number of companies (default 20,000).")
    var companies: Int = ReferenceDataSet.referenceSize.companies

    @Option(help: "Number of events (default 10,000,000).")
    var events: Int = ReferenceDataSet.referenceSize.events

    @Flag(help: "Print the manifest as JSON.")
    var json = false

    func validate() throws {
        guard profiles > 0, companies > 0, events >= 0 else {
            throw ValidationError("--profiles and --companies must be at least 1, --events at least 0")
        }
    }

    func run() async throws {
        let started = Date()
        let dataSet = ReferenceDataSet(seed: seed, size: .init(profiles: profiles, companies: companies, events: events))
        let manifest = try dataSet.write(to: output) { phase in
            FileHandle.standardError.write(Data("generating \(phase)\n".utf8))
        }
        if json {
            printJSON(manifest.json)
            return
        }
        print("""
            wrote \(output)/{\(ReferenceDataSet.fileNames.companies),\(ReferenceDataSet.fileNames.profiles),\
            \(ReferenceDataSet.fileNames.events),\(DataSetManifest.fileName)} in \(String(format: "%.1f", Date().timeIntervalSince(started))) s
            seed \(seed): \(companies) companies, \(profiles) profiles, \(events) events over \(manifest.spanDays) days ending \(manifest.now.iso8601)
            reference segment (score >= 80, plan pro, company.employees > 50, >= 2 Completed Tour in 30 days): \
            \(manifest.expectedReferenceSegmentMembers) expected members at now = \(manifest.now.iso8601)
            """)
    }
}
