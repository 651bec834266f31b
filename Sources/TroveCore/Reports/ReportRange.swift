import Foundation

/// The UTC range a report covers, from its `from`/`to` parameters: dates (`to` inclusive, so its day's
/// end) or times (ISO 8601 or unix seconds); by default the 30 days up to the end of today.
enum ReportRange {
    static let day: Int64 = 86_400_000

    static func utc(from: String?, to: String?, now: Timestamp) throws(ReadError) -> (from: Int64, to: Int64) {
        let utc = TimeZone(identifier: "UTC")!
        var end = (Timestamp.floor(now.milliseconds, units: day) + 1) * day
        if let to, !to.isEmpty {
            guard let t = EventReport.time(to, zone: utc, endOfDay: true) else { throw .invalid("to: expected a date (YYYY-MM-DD) or a time (ISO 8601 or unix seconds)") }
            end = t.milliseconds
        }
        var start = end - 30 * day
        if let from, !from.isEmpty {
            guard let t = EventReport.time(from, zone: utc, endOfDay: false) else { throw .invalid("from: expected a date (YYYY-MM-DD) or a time (ISO 8601 or unix seconds)") }
            start = t.milliseconds
        }
        guard start < end else { throw .invalid("from: must be before to") }
        return (start, end)
    }
}
