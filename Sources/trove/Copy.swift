import ArgumentParser
import Foundation
import TroveCore
import TrovePostgres

struct Copy: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Copy a whole database to the other engine (SQLite file ↔ PostgreSQL), then verify the copy.",
        discussion: """
            Every account, profile, company, event, segment with its history, export job, webhook, destination, \
            outbox row and credential digest, in batches, each its own transaction. Interrupted, it resumes where \
            the copy's rows end: run it again. Stop the server that writes to the source first.
            """)

    @Option(help: "The database to copy: a SQLite file or a postgres:// URL.")
    var from: String

    @Option(help: "Where to copy it: a SQLite file (created if need be) or a postgres:// URL (migrated if need be).")
    var to: String

    @Option(help: "Rows per batch (each batch is one transaction).")
    var batchSize: Int = 2_000

    @Option(help: "Stop after this many batches (a copy in several sittings); run the same command again to go on.")
    var batches: Int?

    @Option(help: "Rows per table compared value by value after the copy.")
    var samples: Int = 50

    func run() async throws {
        guard from != to else { throw ValidationError("--from and --to name the same database") }
        guard batchSize >= 1, samples >= 0, batches.map({ $0 >= 1 }) ?? true else {
            throw ValidationError("--batch-size and --batches must be at least 1, --samples at least 0")
        }
        if !PostgresLocation.isURL(from), !FileManager.default.fileExists(atPath: from) {
            throw ValidationError("--from: no SQLite file at \(from)")
        }
        if PostgresLocation.isURL(to) {
            let location = try DatabaseOptions.parse(["--database", to]).postgres!
            let database = try await PostgresAppDatabase.connect(location, maxConnections: 1)
            do {
                let applied = try await database.migrate()
                if !applied.isEmpty { FileHandle.standardError.write(Data("\(location): \(applied.count) migrations applied\n".utf8)) }
            } catch {
                await database.close()
                throw error
            }
            await database.close()
        }
        try await DatabaseOptions.parse(["--database", from]).withEngine { source in
            try await DatabaseOptions.parse(["--database", to]).withEngine { destination in
                let progress = CopyProgress()
                let copy = DatabaseCopy(from: source, to: destination, batchSize: batchSize, maxBatches: batches) { progress.show($0) }
                let outcome = try await copy.run()
                guard outcome.complete else {
                    print("stopped after \(outcome.batches) batches (\(outcome.rows) rows); run the same command again to go on")
                    return
                }
                print("copied \(outcome.rows) rows from \(source.location) to \(destination.location)")
                let verification = try await copy.verify(samplesPerTable: samples)
                for (table, rows) in verification.counts { print("  \(table.padding(toLength: 22, withPad: " ", startingAt: 0)) \(rows)") }
                guard verification.mismatches.isEmpty else {
                    for m in verification.mismatches.prefix(20) { FileHandle.standardError.write(Data("mismatch: \(m)\n".utf8)) }
                    FileHandle.standardError.write(Data("verification failed: \(verification.mismatches.count) mismatches\n".utf8))
                    throw ExitCode(1)
                }
                print("verified: counts per table and account agree; \(verification.sampled) sampled rows are equal")
            }
        }
    }
}

/// Progress on standard error: a bar per table on a terminal (`ProgressBar`), a line per table otherwise.
private final class CopyProgress: @unchecked Sendable {
    private let lock = NSLock()
    private var table = ""
    private var total = 0
    private var done = 0
    private var copied = 0
    private var bar = ProgressBar()

    func show(_ event: DatabaseCopy.Event) {
        lock.withLock {
            switch event {
            case .table(let name, let total, let done):
                (table, self.total, self.done, copied, bar) = (name, total, done, 0, ProgressBar(label: name))
                bar.update(done: done, total: total, rows: 0)
            case .copied(let n):
                done += n
                copied += n
                bar.update(done: done, total: total, rows: copied)
            case .tableDone:
                if bar.enabled { bar.finish() } else { FileHandle.standardError.write(Data("  \(table): \(total) rows (\(copied) copied now)\n".utf8)) }
            }
        }
    }
}
