import Foundation
import TroveCore

/// `trove bench export` (contract §12): every profile of the reference set with 10 attribute columns to CSV,
/// through the code a customers export runs (one snapshot, the file written and renamed).
public enum ExportBenchmarks {
    /// Ten columns over profile properties and the company's (`company.employees`).
    public static let attributes = [
        "plan", "upsell_readiness_score", "country", "signup_at", "seats", "mrr", "role", "onboarding_completed", "language", "company.employees",
    ]

    public static func export(_ workspace: BenchWorkspace, runs: Int, log: (String) -> Void) async throws -> BenchReport {
        try await measure(workspace, try await workspace.loadEngine([.company, .profile], log: log).engine, runs: runs, log: log)
    }

    /// The figures on a database holding the data set's profiles (closes `engine`).
    static func measure(_ workspace: BenchWorkspace, _ engine: any TroveEngine, runs: Int, log: (String) -> Void) async throws -> BenchReport {
        let m = workspace.manifest
        let account = try await Accounts(store: engine.accountStore).accountID(named: Accounts.defaultName)
        try await workspace.checkpoint(engine)
        let store = ExportJobs(store: engine.exportStore, clock: .fixed(workspace.now), settings: ExportSettings(directory: workspace.directory, publicURL: ""))
        let request = CustomerExportRequest(attributes: attributes)
        let path = workspace.directory + "/customers.csv"
        var report = BenchReport(workload: "export", setup: IngestBenchmarks.setup(m, workspace))
        var rates: [Double] = []
        var result: (rows: Int64, bytes: Int64) = (0, 0)
        for run in 1...runs {
            log("export run \(run) of \(runs): \(m.size.profiles) profiles × \(attributes.count) attribute columns")
            let started = Date()
            result = try await store.writeCustomers(account: account, request, to: path)
            rates.append(Double(result.rows) / Date().timeIntervalSince(started))
        }
        try await engine.close()
        rates.sort()
        let lines = try countLines(path)
        report.setup.append(("columns", "id, email, cio_id + " + attributes.joined(separator: ", ")))
        report.figures = [
            .init("rows exported (median of \(runs))", rates[rates.count / 2], "rows/s", target: .atLeast(465_000)),
            .init("rows exported (best)", rates.last!, "rows/s"),
            .init("file size", Double(result.bytes) / 1_048_576, "MiB"),
            .init("bytes per row", Double(result.bytes) / Double(max(1, result.rows)), "bytes"),
        ]
        report.checks = [
            ("every profile exported (\(result.rows) of \(m.size.profiles))", result.rows == Int64(m.size.profiles)),
            ("the file has a header and one line per row (\(lines))", lines == Int(result.rows) + 1),
        ]
        return report
    }

    static func countLines(_ path: String) throws -> Int {
        let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        var lines = 0
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
            lines += chunk.reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
        }
        return lines
    }
}
