import ArgumentParser
import Foundation
import TroveCore

struct Report: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Batch reports (SPEC §11) as tables, CSV or JSON.", subcommands: [Events.self, Funnel.self, SegmentHistory.self, Messages.self])

    enum Format: String, ExpressibleByArgument, CaseIterable { case table, csv, json }

    struct Events: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Events per name per day or hour, from the counters kept at ingest.")

        @OptionGroup var db: DatabaseOptions
        @OptionGroup var accountOptions: AccountOptions
        @OptionGroup var clock: ClockOptions
        @Option(help: "First day (YYYY-MM-DD) or time (ISO 8601, unix seconds); default 30 days (48 hours) back.") var from: String?
        @Option(help: "Last day, inclusive (YYYY-MM-DD), or an exclusive time; default now.") var to: String?
        @Option(help: "Event names, comma-separated; default all.") var names: String?
        @Option(help: "day or hour.") var interval = "day"
        @Option(help: "An IANA time zone for the buckets (whole-hour offsets); default UTC.") var tz: String?
        @Option(help: "table, csv or json.") var format: Format = .table

        func run() async throws {
            let database = try db.open()
            let account = try await AccountStore(database: database).accountID(named: accountOptions.account)
            let report = EventReport(database: database, clock: try clock.clock())
            var query = ["interval": interval]
            query["from"] = from
            query["to"] = to
            query["names"] = names
            query["tz"] = tz
            let result: JSON
            do {
                result = try await report.run(account: account, try report.request(query))
            } catch let error as ReadError {
                throw ValidationError(error.description)
            }
            switch format {
            case .json: printJSON(result)
            case .csv, .table:
                let series = result["series"]?.arrayValue ?? []
                let buckets = series.first?["points"]?.arrayValue?.compactMap { $0["at"]?.stringValue } ?? []
                var rows = [["at"] + series.map { $0["name"]?.stringValue ?? "" }]
                for (i, at) in buckets.enumerated() {
                    rows.append([at] + series.map { s in
                        if case .int(let n)? = s["points"]?.arrayValue?[i]["count"] { return String(n) }
                        return "0"
                    })
                }
                rows.append(["total"] + series.map { s in if case .int(let n)? = s["total"] { return String(n) } else { return "0" } })
                Report.print(rows, format: format)
            }
        }

    }

    struct Funnel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Profiles reaching each step in order, per value of an event property, with conversion.")

        @OptionGroup var db: DatabaseOptions
        @OptionGroup var accountOptions: AccountOptions
        @OptionGroup var clock: ClockOptions
        @Option(help: "The steps' event names, comma-separated, in order (2 to 10).") var steps: String
        @Option(help: "An event property to group by (the first step's value; later steps must match it or lack it).") var groupBy: String?
        @Option(help: "Days from a profile's first step to its last (1 to 365).") var within = 30
        @Option(help: "First day (YYYY-MM-DD) or time of the first step; default 30 days back.") var from: String?
        @Option(help: "Last day, inclusive, or an exclusive time; default today.") var to: String?
        @Option(help: "How many groups to show, largest first.") var limit = 50
        @Option(help: "table, csv or json.") var format: Format = .table

        func run() async throws {
            let database = try db.open()
            let account = try await AccountStore(database: database).accountID(named: accountOptions.account)
            let report = FunnelReport(database: database, clock: try clock.clock())
            var query = ["steps": steps, "within": String(within), "limit": String(limit)]
            query["group_by"] = groupBy
            query["from"] = from
            query["to"] = to
            let result: JSON
            do {
                result = try await report.runBuildingInPlace(account: account, try report.request(query))
            } catch let error as ReadError {
                throw ValidationError(error.description)
            }
            if format == .json { return printJSON(result) }
            let names = result["steps"]?.arrayValue?.compactMap { $0["name"]?.stringValue } ?? []
            var rows = [[groupBy ?? "group"] + names + ["conversion"]]
            func row(_ label: String, _ group: JSON) -> [String] {
                let counts = group["steps"]?.arrayValue?.map { s -> String in
                    if case .int(let n)? = s["profiles"] { return String(n) } else { return "" }
                } ?? []
                let conversion: String
                if case .double(let d)? = group["conversion"] { conversion = String(format: "%.2f%%", d * 100) } else { conversion = "-" }
                return [label] + counts + [conversion]
            }
            rows.append(row("(all)", result["total"] ?? .null))
            for group in result["groups"]?.arrayValue ?? [] {
                let value = group["value"] ?? .null
                rows.append(row(value == .null ? "(none)" : value.stringValue ?? JSONWriter.string(value), group))
            }
            Report.print(rows, format: format)
        }
    }

    struct SegmentHistory: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "segment-history", abstract: "A segment's member count at the end of each UTC day, from its ledger.")

        @OptionGroup var db: DatabaseOptions
        @OptionGroup var accountOptions: AccountOptions
        @OptionGroup var clock: ClockOptions
        @Argument(help: "The segment id.") var id: String
        @Option(help: "First day (YYYY-MM-DD); default 30 days back.") var from: String?
        @Option(help: "Last day, inclusive (YYYY-MM-DD); default today.") var to: String?
        @Option(help: "table, csv or json.") var format: Format = .table

        func run() async throws {
            let database = try db.open()
            let account = try await AccountStore(database: database).accountID(named: accountOptions.account)
            guard let segment = PublicID.decode(id) else { throw ValidationError("\(id) is not a segment id") }
            let result: JSON
            do {
                result = try await TroveCore.SegmentHistory(database: database, clock: try clock.clock()).run(account: account, segment: segment, from: from, to: to)
            } catch let error as ReadError {
                throw ValidationError(error.description)
            }
            if format == .json { return printJSON(result) }
            var rows = [["date", "count", "entered", "exited"]]
            for p in result["points"]?.arrayValue ?? [] {
                rows.append([p["date"]?.stringValue ?? ""] + ["count", "entered", "exited"].map { k in
                    if case .int(let n)? = p[k] { return String(n) } else { return "" }
                })
            }
            Report.print(rows, format: format)
        }
    }

    struct Messages: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Customer.io's reported activity for one message, per metric, with delivery, open and click rates.")

        @OptionGroup var db: DatabaseOptions
        @OptionGroup var accountOptions: AccountOptions
        @Option(help: "The campaign.") var campaignId: String?
        @Option(help: "The newsletter.") var newsletterId: String?
        @Option(help: "The action.") var actionId: String?
        @Option(help: "The transactional message.") var transactionalMessageId: String?
        @Option(help: "First day (YYYY-MM-DD) or time.") var from: String?
        @Option(help: "Last day, inclusive, or an exclusive time.") var to: String?
        @Option(help: "table, csv or json.") var format: Format = .table

        func run() async throws {
            let database = try db.open()
            let account = try await AccountStore(database: database).accountID(named: accountOptions.account)
            var query: [String: String] = [:]
            query["campaign_id"] = campaignId
            query["newsletter_id"] = newsletterId
            query["action_id"] = actionId
            query["transactional_message_id"] = transactionalMessageId
            query["from"] = from
            query["to"] = to
            let result: JSON
            do {
                result = try await MessageReport(database: database).run(account: account, query: query)
            } catch let error as ReadError {
                throw ValidationError(error.description)
            }
            if format == .json { return printJSON(result) }
            var rows = [["metric", "events", "people"]]
            for m in result["metrics"]?.arrayValue ?? [] {
                rows.append([m["metric"]?.stringValue ?? ""] + ["events", "people"].map { k in
                    if case .int(let n)? = m[k] { return String(n) } else { return "" }
                })
            }
            if case .object(let rates)? = result["rates"] {
                for r in rates {
                    let shown: String
                    switch r.value {
                    case .double(let d): shown = String(format: "%.2f%%", d * 100)
                    case .int(let i): shown = String(format: "%.2f%%", Double(i) * 100)
                    default: shown = "-"
                    }
                    rows.append([r.key, shown, ""])
                }
            }
            Report.print(rows, format: format)
        }
    }

    /// Rows as CSV or as a table with the numbers right-aligned.
    static func print(_ rows: [[String]], format: Format) {
        if format == .csv {
            for row in rows { Swift.print(row.map(csvField).joined(separator: ",")) }
            return
        }
        let widths = rows[0].indices.map { c in rows.map { $0[c].count }.max() ?? 0 }
        for row in rows {
            Swift.print(row.enumerated().map { c, v in
                c == 0 ? v.padding(toLength: widths[c], withPad: " ", startingAt: 0) : String(repeating: " ", count: widths[c] - v.count) + v
            }.joined(separator: "  "))
        }
    }

    static func csvField(_ s: String) -> String {
        s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" }) ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
    }
}
