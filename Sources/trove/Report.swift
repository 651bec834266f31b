import ArgumentParser
import Foundation
import TroveCore
import TroveServer

struct Report: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Batch reports (events per day, funnels, segment history, message activity) as tables, CSV or JSON.", subcommands: [Events.self, Funnel.self, SegmentHistory.self, Messages.self])

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
            let result: EventReport.Result
            do {
                result = try await db.withEngine(clock: try clock.clock()) { engine in
                    let account = try await engine.accountID(named: accountOptions.account)
                    let report = engine.eventReportStore
                    return try await report.run(account: account, try report.request(EventReport.Parameters(from: from, to: to, names: names, interval: interval, tz: tz)))
                }
            } catch let error as ReadError {
                throw ValidationError(error.description)
            }
            switch format {
            case .json: printJSON(AppAPIJSON.events(result))
            case .csv, .table:
                var rows = [["at"] + result.series.map(\.name)]
                for (i, at) in result.buckets.enumerated() {
                    rows.append([result.label(at)] + result.series.map { String($0.counts[i]) })
                }
                rows.append(["total"] + result.series.map { String($0.total) })
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
            let parameters = FunnelReport.Parameters(steps: steps, groupBy: groupBy, within: String(within), from: from, to: to, limit: String(limit))
            let result: FunnelReport.Result
            do {
                result = try await db.withEngine(clock: try clock.clock()) { engine in
                    let account = try await engine.accountID(named: accountOptions.account)
                    let report = engine.funnelReportStore
                    return try await report.runBuildingInPlace(account: account, try report.request(parameters))
                }
            } catch let error as ReadError {
                throw ValidationError(error.description)
            }
            if format == .json { return printJSON(AppAPIJSON.funnel(result)) }
            var rows = [[groupBy ?? "group"] + result.steps.map(\.name) + ["conversion"]]
            func row(_ label: String, _ group: FunnelReport.Result.Group) -> [String] {
                [label] + group.reached.map(String.init) + [Report.percent(group.conversion)]
            }
            rows.append(row("(all)", result.total))
            for group in result.groups ?? [] {
                rows.append(row(group.value == .null ? "(none)" : group.value.stringValue ?? JSONWriter.string(group.value), group))
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
            guard let segment = PublicID.decode(id) else { throw ValidationError("\(id) is not a segment id") }
            let result: TroveCore.SegmentHistory.Result
            do {
                result = try await db.withEngine(clock: try clock.clock()) { engine in
                    let account = try await engine.accountID(named: accountOptions.account)
                    return try await engine.segmentHistoryStore.run(account: account, segment: segment, from: from, to: to)
                }
            } catch let error as ReadError {
                throw ValidationError(error.description)
            }
            if format == .json { return printJSON(AppAPIJSON.segmentHistory(result)) }
            Report.print([["date", "count", "entered", "exited"]] + result.days.map { [$0.date, String($0.count), String($0.entered), String($0.exited)] }, format: format)
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
            let given = [("campaign_id", campaignId), ("newsletter_id", newsletterId), ("action_id", actionId), ("transactional_message_id", transactionalMessageId)]
            let message = given.compactMap { field, id in id.map { (field: field, id: $0) } }
            let result: MessageReport.Result
            do {
                result = try await db.withEngine { engine in
                    let account = try await engine.accountID(named: accountOptions.account)
                    return try await engine.messageReportStore.run(account: account, MessageReport.Parameters(message: message, from: from, to: to))
                }
            } catch let error as ReadError {
                throw ValidationError(error.description)
            }
            if format == .json { return printJSON(AppAPIJSON.messages(result)) }
            var rows = [["metric", "events", "people"]]
            rows += result.metrics.map { [$0.metric, String($0.events), String($0.people)] }
            rows += result.rates.map { [$0.name, Report.percent($0.value), ""] }
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

    /// A rate as a percentage to two decimals; a dash when there is nothing to divide by.
    static func percent(_ rate: Double?) -> String { rate.map { String(format: "%.2f%%", $0 * 100) } ?? "-" }

    static func csvField(_ s: String) -> String {
        s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" }) ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
    }
}
