import Foundation

/// What an export does with a text cell that a spreadsheet would run as a formula (one starting with `=`,
/// `+`, `-`, `@`, tab or CR: "CSV injection"). `escape` (the default) writes it after an apostrophe, which
/// spreadsheets show as typed and do not run; `keep` writes Customer.io's exact bytes. Numbers, flags and
/// times are never touched (`-5` stays a number).
public enum FormulaCells: String, Sendable, CaseIterable {
    case escape, keep
}

/// One cell: its text, and whether it is a text value (which a spreadsheet may take for a formula) rather
/// than a number, flag, time or JSON.
struct CSVCell: Equatable {
    var value: String
    var isText: Bool

    static func text(_ value: String) -> CSVCell { CSVCell(value: value, isText: true) }
    static func other(_ value: String) -> CSVCell { CSVCell(value: value, isText: false) }
}

/// RFC 4180 CSV (UTF-8, LF line ends) into a file, through a buffer of bounded size, so an export of any
/// length uses the same memory.
struct CSVWriter {
    let handle: FileHandle
    let formulas: FormulaCells
    private var buffer: [UInt8] = []
    private(set) var bytesWritten: Int64 = 0
    static let flushAt = 1 << 20
    /// Past this many bytes buffered a row end flushes (`flushAt`; never, for a writer into memory).
    private let flushLimit: Int

    init(path: String, formulas: FormulaCells) throws {
        self.formulas = formulas
        flushLimit = Self.flushAt
        guard FileManager.default.createFile(atPath: path, contents: nil), let handle = FileHandle(forWritingAtPath: path) else {
            throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: path])
        }
        self.handle = handle
        buffer.reserveCapacity(Self.flushAt + 64 * 1024)
    }

    /// Writes a whole CSV file: into `path.partial`, synced and renamed to `path` only when `body`
    /// succeeded, the partial file removed when it did not. Returns `body`'s result and the file's size.
    static func file<T>(at path: String, formulas: FormulaCells, _ body: (inout CSVWriter) throws -> T) throws -> (T, bytes: Int64) {
        let partial = path + ".partial"
        do {
            var csv = try CSVWriter(path: partial, formulas: formulas)
            let result: T
            do {
                result = try body(&csv)
                try csv.finish()
            } catch {
                try? csv.handle.close()
                throw error
            }
            try FileManager.default.moveItemReplacing(from: partial, to: path)
            return (result, csv.bytesWritten)
        } catch {
            try? FileManager.default.removeItem(atPath: partial)
            throw error
        }
    }

    mutating func row(_ cells: [CSVCell]) throws {
        for (i, cell) in cells.enumerated() {
            if i > 0 { buffer.append(UInt8(ascii: ",")) }
            append(cell)
        }
        buffer.append(UInt8(ascii: "\n"))
        if buffer.count >= flushLimit { try flush() }
    }

    mutating func append(_ cell: CSVCell) {
        var value = cell.value
        value.withUTF8 { field($0, text: cell.isText) }
    }

    // MARK: Raw bytes (the export's hot loop: no String per field)

    /// A field from UTF-8 bytes, quoted when it holds a comma, a quote, CR or LF (quotes inside doubled);
    /// a text value that starts like a formula gets a leading apostrophe unless `formulas` is `keep`.
    mutating func field(_ bytes: UnsafeBufferPointer<UInt8>, text: Bool) {
        let escaped = text && formulas == .escape && bytes.first.map(Self.startsFormula) == true
        var needsQuotes = false
        for byte in bytes where Self.special(byte) {
            needsQuotes = true
            break
        }
        guard needsQuotes else {
            if escaped { buffer.append(UInt8(ascii: "'")) }
            buffer.append(contentsOf: bytes)
            return
        }
        buffer.append(UInt8(ascii: "\""))
        if escaped { buffer.append(UInt8(ascii: "'")) }
        for byte in bytes {
            if byte == UInt8(ascii: "\"") { buffer.append(byte) }
            buffer.append(byte)
        }
        buffer.append(UInt8(ascii: "\""))
    }

    /// Bytes already shaped as a CSV field.
    mutating func raw(_ bytes: [UInt8], _ range: Range<Int>) { buffer.append(contentsOf: bytes[range]) }

    mutating func comma() { buffer.append(UInt8(ascii: ",")) }

    /// A row id as its 24-hex public id.
    mutating func publicID(_ id: Int64) {
        // 24 zeros at once, then the digits from the right (one capacity check, not 24).
        let end = buffer.count + 24
        buffer.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: 24))
        buffer.withUnsafeMutableBufferPointer { b in
            var value = UInt64(bitPattern: id)
            var i = end - 1
            while value != 0 {
                let nibble = UInt8(value & 0xF)
                b[i] = nibble < 10 ? 0x30 + nibble : 0x57 + nibble
                value >>= 4
                i -= 1
            }
        }
    }

    mutating func endRow() throws {
        buffer.append(UInt8(ascii: "\n"))
        if buffer.count >= flushLimit { try flush() }
    }

    /// The CSV form of one field, for values computed once and written many times.
    static func quoted(_ cell: CSVCell, formulas: FormulaCells) -> [UInt8] {
        var writer = CSVWriter(memory: formulas)
        writer.append(cell)
        return writer.buffer
    }

    /// A writer into memory only: its rows are taken (`takeBytes`) and written by another writer (`write`).
    init(memory formulas: FormulaCells) {
        handle = FileHandle.nullDevice
        self.formulas = formulas
        flushLimit = .max
    }

    /// What was written so far, leaving the writer empty.
    mutating func takeBytes() -> [UInt8] {
        defer { buffer = []; buffer.reserveCapacity(1 << 17) }
        return buffer
    }

    /// Bytes already shaped as CSV rows (another writer's), flushed as rows are.
    mutating func write(_ bytes: [UInt8]) throws {
        buffer += bytes
        if buffer.count >= flushLimit { try flush() }
    }

    /// `=`, `+`, `-`, `@`, tab, CR: what spreadsheets read as the start of a formula.
    static func startsFormula(_ byte: UInt8) -> Bool {
        byte == 0x3D || byte == 0x2B || byte == 0x2D || byte == 0x40 || byte == 0x09 || byte == 0x0D
    }

    static func special(_ byte: UInt8) -> Bool {
        byte == 0x2C || byte == 0x22 || byte == 0x0A || byte == 0x0D  // , " LF CR
    }

    mutating func flush() throws {
        guard !buffer.isEmpty else { return }
        try handle.write(contentsOf: buffer)
        bytesWritten += Int64(buffer.count)
        buffer.removeAll(keepingCapacity: true)
    }

    /// Flushes, syncs to disk and closes: the file is complete once this returns.
    mutating func finish() throws {
        try flush()
        try handle.synchronize()
        try handle.close()
    }
}
