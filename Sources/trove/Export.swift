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
            let database = try db.open()
            let clock = try clockOptions.clock()
            let account = try await Accounts(database: database, clock: clock).accountID(named: accountOptions.account)
            var request = CustomerExportRequest()
            if let filter {
                do { request.filters = try JSONParser.parse(Array(filter.utf8)) } catch {
                    throw ValidationError("--filter: not valid JSON (\(error))")
                }
            }
            request.attributes = attributes.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            let store = ExportJobs(database: database, clock: clock, settings: ExportSettings(directory: "", publicURL: "", formulas: csvFormulas))
            let bar = ProgressBar()
            let started = Date()
            let result: (rows: Int64, bytes: Int64)
            do {
                result = try await store.writeCustomers(account: account, request, to: output) { last, max, rows in
                    bar.update(done: Int(last), total: Int(max), rows: Int(rows))
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
