import Foundation

/// What a stored export job writes, for an engine to run it: the same reading of the stored request as
/// SQLite's runner, and the file's shape, decided once.
public enum ExportPlan: Sendable {
    case customers(CustomerExport)
    case deliveries(DeliveryExport)

    public init(_ export: Export) throws {
        switch export.type {
        case "customers": self = .customers(try CustomerExport(CustomerExportRequest(stored: export.request, id: export.id)))
        case "deliveries": self = .deliveries(try DeliveryExport(DeliveryExportRequest(stored: export.request, id: export.id)))
        default: throw ExportError.invalid("exports of type \(export.type) are not supported")
        }
    }
}

extension CustomerExport {
    /// The filter (nil: every enabled profile).
    public var filterNode: FilterNode? { filter }
}

extension DeliveryExport {
    /// The message: its field (`campaign_id`, …) and id.
    public var messageField: String { message.field }
    public var messageID: Int64 { message.id }
    public var startTime: Timestamp? { start }
    public var endTime: Timestamp? { end }
    public var metricName: String? { metric }
    public var includesDrafts: Bool { drafts }
    public static var activityColumnNames: [String] { activityColumns }

    /// The attribute columns in `dialect`'s SQL over `profiles p`, with how each renders.
    public func attributeColumns(_ dialect: any SQLDialect) -> [(sql: String, rendering: CustomerExport.Rendering)] {
        customer.attributes.map { customer.column(owner: $0.owner, path: $0.path, dialect: dialect) }
    }

    /// Writes the file from rows an engine reads in pages, oldest first (`page(after)`: the rows after the
    /// given (timestamp, event id), empty at the end; each row: the event's timestamp, the profile's uid,
    /// email and id, the activity columns' JSON text, the attribute columns, then the event id).
    public func writePaged(at path: String, formulas: FormulaCells, dialect: any SQLDialect,
                           page: (_ after: (timestamp: Int64, id: Int64)) throws -> [[SQLValue]]) throws -> (rows: Int64, bytes: Int64) {
        let renderings = attributeColumns(dialect).map(\.rendering)
        let (rows, bytes) = try CSVWriter.file(at: path, formulas: formulas) { csv -> Int64 in
            try csv.row(header.map(CSVCell.text))
            var total: Int64 = 0
            var after: (timestamp: Int64, id: Int64) = (.min, .min)
            while true {
                let rows = try page(after)
                guard let last = rows.last else { break }
                for row in rows { try csv.row(cells(row, renderings: renderings)) }
                total += Int64(rows.count)
                if case .integer(let t) = last[0], case .integer(let id) = last[last.count - 1] { after = (t, id) } else { break }
            }
            return total
        }
        return (rows, bytes)
    }
}

extension ExportRunner {
    /// Why a job that keeps dying is failed instead of run again.
    public static func interrupted(_ attempts: Int64) -> String {
        "stopped \(attempts) times while running (the server was interrupted)"
    }
}
