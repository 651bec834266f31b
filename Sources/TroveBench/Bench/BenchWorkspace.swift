import Foundation
import TroveCore

/// A scratch directory for one benchmark run: the data set (generated unless one is given), the
/// database, the server's log. Removed afterwards unless kept.
public struct BenchWorkspace: Sendable {
    public let directory: String
    public let dataDirectory: String
    public let manifest: DataSetManifest
    /// "Now" for everything the run stores (`--now`); by default the data set's own fixed now.
    public var now: Timestamp
    public var databasePath: String { directory + "/bench.sqlite" }

    /// Uses the data set in `data` (written by `trove generate`), or generates one with `size` and `seed`.
    public static func prepare(
        data: String?, size: ReferenceDataSet.Size, seed: UInt64, now: Timestamp? = nil, log: (String) -> Void
    ) throws -> BenchWorkspace {
        let directory = FileManager.default.temporaryDirectory.path + "/trove-bench-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        if let data {
            let manifest = try DataSetManifest.read(directory: data)
            return BenchWorkspace(directory: directory, dataDirectory: data, manifest: manifest, now: now ?? manifest.now)
        }
        log("generating a data set: \(size.companies) companies, \(size.profiles) profiles, \(size.events) events (seed \(seed))")
        let dataDirectory = directory + "/data"
        let manifest = try ReferenceDataSet(seed: seed, size: size).write(to: dataDirectory)
        return BenchWorkspace(directory: directory, dataDirectory: dataDirectory, manifest: manifest, now: now ?? manifest.now)
    }

    public func remove() { try? FileManager.default.removeItem(atPath: directory) }

    public func path(of model: Model) -> String {
        switch model {
        case .company: return dataDirectory + "/" + ReferenceDataSet.fileNames.companies
        case .profile: return dataDirectory + "/" + ReferenceDataSet.fileNames.profiles
        case .event: return dataDirectory + "/" + ReferenceDataSet.fileNames.events
        }
    }

    public struct Loaded {
        public var database: AppDatabase
        public var accountSecret: String
        public var appAPIKey: String
        public var summaries: [Model: NDJSONImporter.Summary]
    }

    /// Creates the database with its default account and imports the given models in order, through the
    /// same path as `trove import`.
    public func load(_ models: [Model], durability: Durability = .normal, log: (String) -> Void) async throws -> Loaded {
        let database = try AppDatabase(path: databasePath, durability: durability)
        let accounts = Accounts(database: database)
        guard let credentials = try await accounts.ensureDefaultAccount() else { throw BenchError("\(databasePath) is not new") }
        let account = try await accounts.accountID(named: Accounts.defaultName)
        let ingestor = Ingestor(store: WriteQueue(database: database, clock: .fixed(now)))
        var summaries: [Model: NDJSONImporter.Summary] = [:]
        for model in models {
            log("importing \(path(of: model))")
            let summary = try await NDJSONImporter(ingestor: ingestor).run(path: path(of: model), model: model, account: account)
            if let e = summary.firstErrors.first {
                throw BenchError("\(path(of: model)) line \(e.line): \(e.message)")
            }
            summaries[model] = summary
        }
        return Loaded(database: database, accountSecret: credentials.accountSecret, appAPIKey: credentials.appAPIKey, summaries: summaries)
    }
}
