import ArgumentParser
import Foundation
import TroveCore

struct Export: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write exports straight from the database file.", subcommands: [Customers.self])

    struct Customers: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Profiles matching a Customer.io filter to CSV (the file POST /v1/exports/customers makes).")

        @OptionGroup var db: DatabaseOptions
        @OptionGroup var accountOptions: AccountOptions
        @OptionGroup var clockOptions: ClockOptions

        @Option(help: #"A Customer.io filter, e.g. '{"attribute":{"field":"plan","operator":"eq","value":"pro"}}' (default: everyone)."#)
        var filter: String?

        @Option(help: "Attributes to add as columns, comma-separated (company.x for the company's).")
        var attributes: String = ""

        @Option(help: "The CSV file to write.")
        var output: String

        @Option(help: "Text cells that start like a spreadsheet formula: escape (the default) or keep.")
        var csvFormulas: FormulaCells = .escape

        func run() async throws {
            var request = CustomerExportRequest()
            if let filter {
                do { request.filters = try JSONParser.parse(Array(filter.utf8)) } catch {
                    throw ValidationError("--filter: not valid JSON (\(error))")
                }
            }
            request.attributes = attributes.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            let bar = ProgressBar()
            let started = Date()
            let result: (rows: Int64, bytes: Int64)
            do {
                let asked = request
                result = try await db.withEngine(clock: try clockOptions.clock()) { engine in
                    let account = try await engine.accountID(named: accountOptions.account)
                    let store = ExportJobs(store: engine.exportStore, clock: engine.clock, settings: ExportSettings(directory: "", publicURL: "", formulas: csvFormulas))
                    return try await store.writeCustomers(account: account, asked, to: output) { last, max, rows in
                        bar.update(done: Int(last), total: Int(max), rows: Int(rows))
                    }
                }
            } catch let e as ExportError {
                throw ValidationError(e.description)
            }
            bar.finish()
            let seconds = Date().timeIntervalSince(started)
            print("exported \(result.rows) customers (\(result.bytes) bytes) to \(output) in \(String(format: "%.2f", seconds)) s (\(Int(Double(result.rows) / max(seconds, 0.001))) rows/s)")
        }
    }
}
