import NIOCore
import PostgresNIO

/// Where a row's values go: a `COPY`'s text (`CopyText`) or a statement's parameters (`PostgresBindings`), so
/// one function names a row's columns in order for both.
protocol RowValues {
    mutating func put(_ value: Int64)
    mutating func put(_ value: Int64?)
    mutating func put(_ value: Bool)
    mutating func put(_ value: String?)
}

extension PostgresBindings: RowValues {
    mutating func put(_ value: Int64) { append(value) }
    mutating func put(_ value: Int64?) { append(value) }
    mutating func put(_ value: Bool) { append(value) }
    mutating func put(_ value: String?) { append(value) }
}

/// Rows for `COPY … FROM STDIN` in PostgreSQL's text format, written straight into one buffer: columns
/// separated by tabs, rows ended by newlines, `\N` for NULL, and backslash, tab, newline and carriage return
/// escaped with a backslash (the format's rules; every other byte, UTF-8 included, goes as it is). No
/// statement text to parse and no parameter per value: the events of a transaction load this way.
struct CopyText: RowValues {
    private(set) var buffer: ByteBuffer
    private var columnsInRow = 0

    init(capacity: Int = 1 << 16) {
        buffer = ByteBufferAllocator().buffer(capacity: capacity)
    }

    mutating func put(_ value: Int64) {
        separate()
        buffer.writeString(String(value))
    }

    mutating func put(_ value: Int64?) {
        guard let value else { return put(nil as String?) }
        put(value)
    }

    mutating func put(_ value: Bool) {
        separate()
        buffer.writeInteger(value ? UInt8(ascii: "t") : UInt8(ascii: "f"))
    }

    mutating func put(_ value: String?) {
        separate()
        guard var text = value else {
            buffer.writeStaticString("\\N")
            return
        }
        text.withUTF8 { bytes in
            // Runs without special bytes go in one copy.
            var start = 0
            for (i, byte) in bytes.enumerated() {
                let escaped: UInt8
                switch byte {
                case UInt8(ascii: "\\"): escaped = UInt8(ascii: "\\")
                case UInt8(ascii: "\t"): escaped = UInt8(ascii: "t")
                case UInt8(ascii: "\n"): escaped = UInt8(ascii: "n")
                case UInt8(ascii: "\r"): escaped = UInt8(ascii: "r")
                default: continue
                }
                buffer.writeBytes(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: bytes[start..<i])))
                buffer.writeInteger(UInt8(ascii: "\\"))
                buffer.writeInteger(escaped)
                start = i + 1
            }
            buffer.writeBytes(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: bytes[start...])))
        }
    }

    /// Ends the row begun by the values appended since the last one.
    mutating func endRow() {
        buffer.writeInteger(UInt8(ascii: "\n"))
        columnsInRow = 0
    }

    private mutating func separate() {
        if columnsInRow > 0 { buffer.writeInteger(UInt8(ascii: "\t")) }
        columnsInRow += 1
    }
}
