import ArgumentParser
import Foundation
import TroveCore

struct Import: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Load NDJSON (one object per line, as the hooks take them) through the ingest path.")

    enum ModelName: String, ExpressibleByArgument, CaseIterable {
        case profiles, companies, events
        var model: Model {
            switch self {
            case .profiles: return .profile
            case .companies: return .company
            case .events: return .event
            }
        }
    }

    @OptionGroup var db: DatabaseOptions
    @OptionGroup var accountOptions: AccountOptions
    @OptionGroup var clockOptions: ClockOptions

    @Option(help: "What the file holds: profiles, companies or events.")
    var model: ModelName

    @Option(help: "normal or full (see `serve`).")
    var durability: Durability = .normal

    @Argument(help: "The NDJSON file.")
    var file: String

    func run() async throws {
        let bar = ProgressBar()
        let summary = try await db.withEngine(clock: try clockOptions.clock(), durability: durability) { engine in
            let account = try await engine.accountID(named: accountOptions.account)
            return try await NDJSONImporter(ingestor: Ingestor(store: engine.ingestStore)).run(path: file, model: model.model, account: account) {
                read, size, rows in bar.update(done: read, total: size, rows: rows)
            }
        }
        bar.finish()
        for e in summary.firstErrors { FileHandle.standardError.write(Data("line \(e.line): \(e.message)\n".utf8)) }
        print(
            "imported \(summary.rows) \(model.rawValue), rejected \(summary.rejected), skipped \(summary.skipped), "
                + "warnings \(summary.warnings) in \(String(format: "%.2f", summary.seconds)) s "
                + "(\(Int(summary.rate)) rows/s)")
    }
}

/// A one-line progress bar on stderr, drawn only when stderr is a terminal.
final class ProgressBar: Sendable {
    let enabled = isatty(2) != 0
    let started = Date()
    /// Printed before the bar (`trove copy`: the table).
    let label: String

    init(label: String = "") { self.label = label }

    func update(done: Int, total: Int, rows: Int) {
        guard enabled, total > 0 else { return }
        let fraction = min(1, Double(done) / Double(total))
        let width = 30
        let filled = Int(fraction * Double(width))
        let rate = Double(rows) / max(0.001, Date().timeIntervalSince(started))
        let line = "\r" + (label.isEmpty ? "" : label.padding(toLength: 22, withPad: " ", startingAt: 0) + " ") + "[" + String(repeating: "#", count: filled) + String(repeating: " ", count: width - filled)
            + "] \(Int(fraction * 100))%  \(rows) rows  \(Int(rate)) rows/s"
        FileHandle.standardError.write(Data(line.utf8))
    }

    func finish() {
        if enabled { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
