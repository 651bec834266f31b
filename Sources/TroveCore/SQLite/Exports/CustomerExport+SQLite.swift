import GRDB
import GRDBSQLite

extension CustomerExport {
    /// How one column's SQL value becomes its CSV text.
    public enum Rendering: Sendable { case json, text, time, flag }

    /// The column for an attribute: an SQL expression over `profiles p` and how to render what it gives.
    func column(owner: PropertyOwner, path: PropertyPath, dialect: any SQLDialect = SQLiteDialect()) -> (sql: String, rendering: Rendering) {
        let source = owner == .company ? ValueSource.company(path) : ValueSource.profile(path, dialect: dialect)
        let (expression, rendering) = Self.expression(source, dialect)
        guard owner == .company else { return (expression, rendering) }
        return ("(SELECT \(expression) FROM companies c WHERE c.account_id = p.account_id AND c.id = p.company_id)", rendering)
    }

    /// The SQL giving a value source's value (JSON properties as their JSON text) and how to render it.
    static func expression(_ source: ValueSource, _ dialect: any SQLDialect) -> (sql: String, rendering: Rendering) {
        switch source {
        case .json(let alias, let path): return (dialect.json(alias: alias, path: path).jsonText(), .json)
        case .text(let column): return (column, .text)
        case .time(let column): return (column, .time)
        case .flag(let column): return (column, .flag)
        }
    }

    /// Where each attribute column's value comes from in the export's loop.
    enum Source: Sendable {
        /// A profile property: the scanner's slot.
        case property(Int)
        /// A built-in profile column (`created_at`, …): its index among the query's extra columns.
        case column(Int, Rendering)
        /// A company attribute: its index among the company columns, rendered once per company.
        case company(Int)
    }

    struct Plan: Sendable {
        var sources: [Source] = []
        var propertyPaths: [[String]] = []
        var columns: [String] = []
        var companyColumns: [(sql: String, rendering: Rendering)] = []
    }

    func plan(_ dialect: any SQLDialect) -> Plan {
        var plan = Plan()
        for attribute in attributes {
            if attribute.owner == .company {
                plan.sources.append(.company(plan.companyColumns.count))
                plan.companyColumns.append(Self.expression(ValueSource.company(attribute.path), dialect))
                continue
            }
            let (sql, rendering) = column(owner: .profile, path: attribute.path, dialect: dialect)
            if rendering == .json {
                plan.sources.append(.property(plan.propertyPaths.count))
                plan.propertyPaths.append(attribute.path.keys)
            } else {
                plan.sources.append(.column(plan.columns.count, rendering))
                plan.columns.append(sql)
            }
        }
        return plan
    }

    /// The query: uid, email, id, company id, properties, then the built-in columns asked for; members
    /// of the filter in id order.
    func query(_ db: Database, account: Int64, now: Timestamp, plan: Plan) throws -> SQLFragment {
        let list = (["p.uid", "p.email", "p.id", "p.company_id", "p.properties"] + plan.columns).joined(separator: ", ")
        return try SegmentCompiler.select(db, account: account, now: now, filter: filter, columns: list) + SQLFragment(" ORDER BY p.id")
    }

    /// The company columns of every company of the account as CSV fields, in one buffer (companies are
    /// few; each is read once instead of once per profile). `fields(company)` gives a company's slot.
    struct CompanyFields: Sendable {
        var bytes: [UInt8] = []
        /// Per company slot, per column: where its field starts and ends in `bytes`.
        var spans: [Range<Int>] = []
        /// Company id → slot, looked up once per exported row. With 200k companies (10× the reference set) a
        /// dictionary missed the CPU's caches on most lookups (7% of the export's CPU); `finish` turns ids that
        /// are dense enough into an array indexed by id (-1: no such company).
        private var slots: [Int64: Int] = [:]
        private var dense: [Int32] = []
        let columns: Int

        init(columns: Int) { self.columns = columns }

        func slot(_ id: Int64) -> Int? {
            guard !dense.isEmpty else { return slots[id] }
            guard id >= 0, id < dense.count, dense[Int(id)] >= 0 else { return nil }
            return Int(dense[Int(id)])
        }

        /// Called once every company is added.
        mutating func finish() {
            guard let low = slots.keys.min(), let high = slots.keys.max(), low >= 0, high < 8 * Int64(slots.count) + 4096 else { return }
            dense = Array(repeating: -1, count: Int(high) + 1)
            for (id, slot) in slots { dense[Int(id)] = Int32(slot) }
            slots = [:]
        }

        /// A company's columns (`plan.companyColumns`' values) as CSV fields.
        mutating func add(company id: Int64, values: [SQLValue], plan: Plan, formulas: FormulaCells) {
            slots[id] = spans.count / columns
            for (value, column) in zip(values, plan.companyColumns) {
                let field = CSVWriter.quoted(CustomerExport.render(value, column.rendering), formulas: formulas)
                spans.append(bytes.count..<(bytes.count + field.count))
                bytes += field
            }
        }
    }

    func companyFields(_ db: Database, account: Int64, plan: Plan, formulas: FormulaCells) throws -> CompanyFields {
        var fields = CompanyFields(columns: plan.companyColumns.count)
        guard !plan.companyColumns.isEmpty else { return fields }
        let sql = "SELECT c.id, \(plan.companyColumns.map(\.sql).joined(separator: ", ")) FROM companies c WHERE c.account_id = ?"
        let rows = try Row.fetchCursor(db, sql: sql, arguments: [account])
        while let row = try rows.next() {
            fields.add(company: row[0], values: (0..<plan.companyColumns.count).map { SQLValue(row[1 + $0] as DatabaseValue) }, plan: plan, formulas: formulas)
        }
        fields.finish()
        return fields
    }

    /// How far an export has come: rows go out in profile-id order, so the last id written against the
    /// highest id is a progress fraction that costs nothing to know.
    public typealias Progress = @Sendable (_ lastID: Int64, _ maxID: Int64, _ rows: Int64) -> Void

    /// Writes the CSV for `account` from the snapshot `db` reads; returns the number of rows. The loop
    /// reads SQLite's column bytes in place and writes them straight into the CSV buffer.
    func write(_ db: Database, account: Int64, now: Timestamp, to csv: inout CSVWriter, progress: Progress? = nil) throws -> Int64 {
        let plan = self.plan(SQLiteDialect())
        let query = try self.query(db, account: account, now: now, plan: plan)
        let companies = try companyFields(db, account: account, plan: plan, formulas: csv.formulas)
        let maxID = progress == nil ? 0 : try Int64.fetchOne(db, sql: "SELECT coalesce(max(id), 0) FROM profiles") ?? 0
        try csv.row((["id", "email", "cio_id"] + attributes.map(\.name)).map(CSVCell.text))

        let scanner = PropertyScanner(paths: plan.propertyPaths)
        let extras = plan.columns.count
        let pipeline = ExportPipeline(csv: csv) { chunk, csv in
            try Self.format(chunk, plan: plan, scanner: scanner, companies: companies, to: &csv)
        }
        let statement = try db.makeStatement(sql: query.sql)
        try statement.setArguments(query.statementArguments)
        let h = statement.sqliteStatement
        defer { sqlite3_reset(h) }
        var total: Int64 = 0
        var chunk = RowChunk()
        do {
            while true {
                let code = sqlite3_step(h)
                if code == SQLITE_DONE { break }
                guard code == SQLITE_ROW else {
                    throw DatabaseError(resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(db.sqliteConnection)), sql: query.sql)
                }
                let uid = sqlite3_column_type(h, 0) == SQLITE_NULL ? nil : chunk.append(Self.text(h, 0))
                let email = sqlite3_column_type(h, 1) == SQLITE_NULL ? nil : chunk.append(Self.text(h, 1))
                let company = companies.columns == 0 || sqlite3_column_type(h, 3) == SQLITE_NULL ? nil : companies.slot(sqlite3_column_int64(h, 3))
                chunk.rows.append(RowChunk.Row(uid: uid, email: email, id: sqlite3_column_int64(h, 2), company: company, properties: chunk.append(Self.text(h, 4))))
                for index in 0..<extras { chunk.extras.append(Self.value(h, Int32(5 + index))) }
                total += 1
                if chunk.rows.count == RowChunk.capacity {
                    try pipeline.send(chunk)
                    chunk = RowChunk()
                }
                if let progress, total % 10_000 == 0 { progress(sqlite3_column_int64(h, 2), maxID, total) }
            }
            if !chunk.rows.isEmpty { try pipeline.send(chunk) }
        } catch {
            pipeline.cancel()
            throw error
        }
        csv = try pipeline.finish()
        progress?(maxID, maxID, total)
        return total
    }

    /// One chunk's CSV rows (the formatter's thread).
    static func format(_ chunk: RowChunk, plan: Plan, scanner: PropertyScanner, companies: CompanyFields, to csv: inout CSVWriter) throws {
        var ranges = [Range<Int>?](repeating: nil, count: plan.propertyPaths.count)
        let extras = plan.columns.count
        try chunk.bytes.withUnsafeBufferPointer { b in
            let none = UnsafeBufferPointer<UInt8>(start: nil, count: 0)
            for (r, row) in chunk.rows.enumerated() {
                csv.field(row.uid.map { UnsafeBufferPointer(rebasing: b[$0]) } ?? none, text: true)
                csv.comma()
                csv.field(row.email.map { UnsafeBufferPointer(rebasing: b[$0]) } ?? none, text: true)
                csv.comma()
                csv.publicID(row.id)
                let properties = UnsafeBufferPointer(rebasing: b[row.properties])
                scanner.scan(properties, into: &ranges)
                for source in plan.sources {
                    csv.comma()
                    switch source {
                    case .property(let slot):
                        if let range = ranges[slot] { Self.writeJSONValue(properties, range, to: &csv) }
                    case .column(let index, let rendering):
                        csv.append(Self.render(chunk.extras[r * extras + index], rendering))
                    case .company(let index):
                        if let company = row.company { csv.raw(companies.bytes, companies.spans[company * companies.columns + index]) }
                    }
                }
                try csv.endRow()
            }
        }
    }

    /// A column's value.
    static func value(_ h: OpaquePointer, _ column: Int32) -> SQLValue {
        switch sqlite3_column_type(h, column) {
        case SQLITE_INTEGER: return .integer(sqlite3_column_int64(h, column))
        case SQLITE_FLOAT: return .real(sqlite3_column_double(h, column))
        case SQLITE_TEXT: return .text(String(decoding: text(h, column), as: UTF8.self))
        default: return .null
        }
    }

    /// A column's text in place (valid until the next step).
    static func text(_ h: OpaquePointer, _ column: Int32) -> UnsafeBufferPointer<UInt8> {
        guard let pointer = sqlite3_column_text(h, column) else { return UnsafeBufferPointer(start: nil, count: 0) }
        return UnsafeBufferPointer(start: pointer, count: Int(sqlite3_column_bytes(h, column)))
    }

    /// A JSON value as its CSV field: a string's characters (unescaped), anything else as its JSON text.
    static func writeJSONValue(_ b: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, to csv: inout CSVWriter) {
        guard !range.isEmpty else { return }
        let slice = UnsafeBufferPointer(rebasing: b[range])
        if slice[0] == UInt8(ascii: "\"") {
            let inner = UnsafeBufferPointer(rebasing: slice.dropFirst().dropLast())
            if !inner.contains(UInt8(ascii: "\\")) {
                csv.field(inner, text: true)
            } else if case .string(let s)? = try? JSONParser.parse(Array(slice)) {
                csv.append(.text(s))
            }
        } else if slice[0] == UInt8(ascii: "[") || slice[0] == UInt8(ascii: "{") {
            writeStructured(slice, to: &csv)
        } else if !(slice.count == 4 && slice.elementsEqual("null".utf8)) {
            csv.field(slice, text: false)
        }
    }

    /// A hash or array: as stored when compact already (SQLite), else rewritten compact (out of the hot loop).
    @inline(never)
    static func writeStructured(_ slice: UnsafeBufferPointer<UInt8>, to csv: inout CSVWriter) {
        if slice.contains(UInt8(ascii: " ")) {
            csv.append(.other(compact(Array(slice))))
        } else {
            csv.field(slice, text: false)
        }
    }

    /// A hash or array as compact JSON: SQLite stores it so, PostgreSQL's `jsonb` text puts a space after
    /// each comma and colon.
    static func compact(_ json: [UInt8]) -> String {
        (try? JSONWriter.string(JSONParser.parse(json))) ?? String(decoding: json, as: UTF8.self)
    }

    /// Values as strings (contract §7): strings as they are, timestamps ISO-8601 (stored that way), numbers
    /// and booleans as JSON writes them, hashes and arrays as compact JSON; absent → empty.
    static func render(_ value: SQLValue, _ rendering: Rendering) -> CSVCell {
        switch (value, rendering) {
        case (.null, _): return .other("")
        case (.text(let text), .json), (.json(let text), _):
            if (text.hasPrefix("[") || text.hasPrefix("{")) && text.contains(" ") { return .other(compact(Array(text.utf8))) }
            guard text.hasPrefix("\"") else { return .other(text) }  // a number, flag, hash or array as JSON
            if case .string(let s)? = try? JSONParser.parse(Array(text.utf8)) { return .text(s) }
            return .text(text)
        case (.text(let text), _): return .text(text)
        case (.integer(let ms), .time): return .other(Timestamp(milliseconds: ms).iso8601)
        case (.integer(let flag), .flag): return .other(flag != 0 ? "true" : "false")
        case (.integer(let n), _): return .other(String(n))
        case (.real(let d), _): return .other(JSONWriter.string(.double(d)))
        }
    }
}

extension SQLValue {
    /// A value GRDB read (a blob, which no export column holds, reads as NULL).
    init(_ value: DatabaseValue) {
        switch value.storage {
        case .null, .blob: self = .null
        case .int64(let i): self = .integer(i)
        case .double(let d): self = .real(d)
        case .string(let s): self = .text(s)
        }
    }
}
