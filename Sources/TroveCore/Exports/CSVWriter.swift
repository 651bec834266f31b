import Foundation

/// RFC 4180 CSV (UTF-8, LF line ends) into a file, through a buffer of bounded size, so an export of any
/// length uses the same memory.
struct CSVWriter {
    let handle: FileHandle
    private var buffer: [UInt8] = []
    private(set) var bytesWritten: Int64 = 0
    static let flushAt = 1 << 20

    init(path: String) throws {
        guard FileManager.default.createFile(atPath: path, contents: nil), let handle = FileHandle(forWritingAtPath: path) else {
            throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: path])
        }
        self.handle = handle
        buffer.reserveCapacity(Self.flushAt + 64 * 1024)
    }

    /// Writes a whole CSV file: into `path.partial`, synced and renamed to `path` only when `body`
    /// succeeded, the partial file removed when it did not. Returns `body`'s result and the file's size.
    static func file<T>(at path: String, _ body: (inout CSVWriter) throws -> T) throws -> (T, bytes: Int64) {
        let partial = path + ".partial"
        do {
            var csv = try CSVWriter(path: partial)
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

    mutating func row(_ fields: [String]) throws {
        for (i, field) in fields.enumerated() {
            if i > 0 { buffer.append(UInt8(ascii: ",")) }
            append(field)
        }
        buffer.append(UInt8(ascii: "\n"))
        if buffer.count >= Self.flushAt { try flush() }
    }

    /// A field is quoted when it holds a comma, a quote, CR or LF; quotes inside are doubled.
    mutating func append(_ field: String) {
        let utf8 = field.utf8
        var needsQuotes = false
        for byte in utf8 where Self.special(byte) {
            needsQuotes = true
            break
        }
        guard needsQuotes else { buffer.append(contentsOf: utf8); return }
        buffer.append(UInt8(ascii: "\""))
        for byte in utf8 {
            if byte == UInt8(ascii: "\"") { buffer.append(byte) }
            buffer.append(byte)
        }
        buffer.append(UInt8(ascii: "\""))
    }

    // MARK: Raw bytes (the export's hot loop: no String per field)

    /// A field from UTF-8 bytes, quoted when it needs to be.
    mutating func field(_ bytes: UnsafeBufferPointer<UInt8>) {
        var needsQuotes = false
        for byte in bytes where Self.special(byte) {
            needsQuotes = true
            break
        }
        guard needsQuotes else { buffer.append(contentsOf: bytes); return }
        buffer.append(UInt8(ascii: "\""))
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
        let value = UInt64(bitPattern: id)
        for shift in stride(from: 92, through: 0, by: -4) {
            let nibble = shift >= 64 ? 0 : UInt8((value >> UInt64(shift)) & 0xF)
            buffer.append(nibble < 10 ? 0x30 + nibble : 0x57 + nibble)
        }
    }

    mutating func endRow() throws {
        buffer.append(UInt8(ascii: "\n"))
        if buffer.count >= Self.flushAt { try flush() }
    }

    /// The CSV form of one field, for values computed once and written many times.
    static func quoted(_ text: String) -> [UInt8] {
        var writer = CSVWriter(discarding: ())
        writer.append(text)
        return writer.buffer
    }

    private init(discarding: Void) {
        handle = FileHandle.nullDevice
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
