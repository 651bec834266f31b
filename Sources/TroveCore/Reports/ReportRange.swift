import Foundation

/// The UTC range a report covers, from its `from`/`to` parameters: dates (`to` inclusive, so its day's
/// end) or times (ISO 8601 or unix seconds).
public enum ReportRange {
    public static let day: Int64 = 86_400_000
    static let utc = TimeZone(identifier: "UTC")!

    /// The bounds given (nil where a parameter is absent or empty), `to` exclusive.
    static func bounds(from: String?, to: String?) throws(ReadError) -> (from: Int64?, to: Int64?) {
        var bounds: (from: Int64?, to: Int64?) = (nil, nil)
        if let to, !to.isEmpty {
            guard let t = EventReport.time(to, zone: utc, endOfDay: true) else { throw .invalid("to: expected a date (YYYY-MM-DD) or a time (ISO 8601 or unix seconds)") }
            bounds.to = t.milliseconds
        }
        if let from, !from.isEmpty {
            guard let t = EventReport.time(from, zone: utc, endOfDay: false) else { throw .invalid("from: expected a date (YYYY-MM-DD) or a time (ISO 8601 or unix seconds)") }
            bounds.from = t.milliseconds
        }
        return bounds
    }

    /// By default the 30 days up to the end of today.
    static func utc(from: String?, to: String?, now: Timestamp) throws(ReadError) -> (from: Int64, to: Int64) {
        let given = try bounds(from: from, to: to)
        let end = given.to ?? (Timestamp.floor(now.milliseconds, units: day) + 1) * day
        let start = given.from ?? end - 30 * day
        guard start < end else { throw .invalid("from: must be before to") }
        return (start, end)
    }
}
