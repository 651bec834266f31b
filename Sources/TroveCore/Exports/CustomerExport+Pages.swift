import Foundation

/// One profile of a customers export, as an engine that reads in pages hands it over.
public struct CustomerExportRow: Sendable {
    public var uid: String?
    public var email: String?
    public var id: Int64
    public var companyID: Int64?
    /// The properties' JSON text.
    public var properties: String
    /// The built-in columns asked for (`CustomerExport.Columns.profile`), in order.
    public var extras: [SQLValue]

    public init(uid: String?, email: String?, id: Int64, companyID: Int64?, properties: String, extras: [SQLValue]) {
        self.uid = uid
        self.email = email
        self.id = id
        self.companyID = companyID
        self.properties = properties
        self.extras = extras
    }
}

extension CustomerExport {
    /// What an engine selects beyond uid, email, id, company_id and the properties' JSON text: the built-in
    /// profile columns asked for, and each company column, in `dialect`'s SQL, with how each renders.
    public struct Columns: Sendable {
        public var profile: [(sql: String, rendering: Rendering)]
        public var company: [(sql: String, rendering: Rendering)]
    }

    public func columns(_ dialect: any SQLDialect) -> Columns {
        let plan = plan(dialect)
        let renderings = plan.sources.compactMap { source -> (Int, Rendering)? in
            if case .column(let i, let rendering) = source { return (i, rendering) }
            return nil
        }.sorted { $0.0 < $1.0 }.map(\.1)
        return Columns(profile: Array(zip(plan.columns, renderings)).map { ($0, $1) }, company: plan.companyColumns)
    }

    /// Writes the export from an engine that reads profiles in pages of id order (`page(after)`: the next
    /// profiles after that id, empty at the end), on the caller's thread (never an event loop): the same
    /// header, fields and file handling as SQLite's single-statement path. `companies`: every company's
    /// column values (`columns(dialect).company`). Returns the rows and bytes written.
    public func writePaged(at path: String, formulas: FormulaCells, dialect: any SQLDialect, companies: [(id: Int64, values: [SQLValue])],
                           maxID: Int64, progress: Progress?, page: (_ after: Int64) throws -> [CustomerExportRow]) throws -> (rows: Int64, bytes: Int64) {
        let plan = plan(dialect)
        var fields = CompanyFields(columns: plan.companyColumns.count)
        if fields.columns > 0 {
            for company in companies { fields.add(company: company.id, values: company.values, plan: plan, formulas: formulas) }
            fields.finish()
        }
        let scanner = PropertyScanner(paths: plan.propertyPaths)
        let ((rows), bytes) = try CSVWriter.file(at: path, formulas: formulas) { csv -> Int64 in
            try csv.row((["id", "email", "cio_id"] + attributes.map(\.name)).map(CSVCell.text))
            let pipeline = ExportPipeline(csv: csv) { [fields] chunk, csv in
                try Self.format(chunk, plan: plan, scanner: scanner, companies: fields, to: &csv)
            }
            var total: Int64 = 0
            var after: Int64 = 0
            do {
                while true {
                    let rows = try page(after)
                    guard let last = rows.last else { break }
                    var chunk = RowChunk()
                    for row in rows {
                        let uid = row.uid.map { chunk.append($0) }
                        let email = row.email.map { chunk.append($0) }
                        let company = fields.columns == 0 ? nil : row.companyID.flatMap { fields.slot($0) }
                        chunk.rows.append(RowChunk.Row(uid: uid, email: email, id: row.id, company: company, properties: chunk.append(row.properties)))
                        chunk.extras += row.extras
                        if chunk.rows.count == RowChunk.capacity {
                            try pipeline.send(chunk)
                            chunk = RowChunk()
                        }
                    }
                    if !chunk.rows.isEmpty { try pipeline.send(chunk) }
                    total += Int64(rows.count)
                    after = last.id
                    progress?(after, maxID, total)
                }
            } catch {
                pipeline.cancel()
                throw error
            }
            csv = try pipeline.finish()
            progress?(maxID, maxID, total)
            return total
        }
        return (rows, bytes)
    }
}

extension RowChunk {
    mutating func append(_ text: String) -> Range<Int> {
        var text = text
        return text.withUTF8 { append($0) }
    }
}
