import ArgumentParser
import TroveCore
import TroveServer

/// `trove events`: a person's activity timeline (contract §5), as `GET /v3/analyze/events` gives it.
struct Events: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "A person's events, newest first: their activity timeline.")

    @OptionGroup var db: DatabaseOptions
    @OptionGroup var accountOptions: AccountOptions
    @OptionGroup var person: PersonOptions
    @Option(help: "Only events of this name (matched as stored names are normalized).") var name: String?
    @Option(help: "How many events (1 to 500).") var limit = TimelineRequest.defaultLimit
    @Option(help: "The cursor a previous page printed, to continue after it.") var before: String?
    @Option(help: "table, csv or json.") var format: Report.Format = .table

    func run() async throws {
        guard let person = try person.lookup() else { throw ValidationError("give one of --uid, --email or --profile-id") }
        let page: TimelinePage
        do {
            let request = try TimelineRequest(person: person, name: name, limit: limit, before: try before.map { try TimelineCursor(text: $0) })
            page = try await db.withEngine { engine in
                let account = try await engine.accountID(named: accountOptions.account)
                return try await engine.timelineStore.timeline(account: account, request)
            }
        } catch let error as ReadError {
            throw ValidationError(error.description)
        }
        if format == .json { return printJSON(ChameleonJSON.timeline(page)) }
        var rows = [["timestamp", "name", "id", "properties"]]
        for e in page.events {
            rows.append([e.timestamp.iso8601, e.name, PublicID.encode(e.id), JSONWriter.string(.object(e.properties))])
        }
        Report.print(rows, format: format)
        if let next = page.before, format == .table { print("more: --before \(next.text)") }
    }
}
