import Foundation
import TroveCore

/// A buffered, append-only file writer for large generated files (NDJSON lines, byte for byte).
final class OutputFile {
    private let handle: UnsafeMutablePointer<FILE>
    var buffer: [UInt8] = []
    let path: String

    init(path: String) throws {
        guard let handle = fopen(path, "wb") else {
            throw DataSetError(message: "cannot create \(path): \(String(cString: strerror(errno)))")
        }
        self.handle = handle
        self.path = path
        buffer.reserveCapacity(1 << 21)
    }

    deinit { fclose(handle) }

    func append(_ s: StaticString) { buffer.append(s) }
    func append(_ s: String) { buffer.append(contentsOf: s.utf8) }
    func append(_ n: Int) { buffer.appendDecimal(n) }

    /// Writes the buffer out once it holds a megabyte or more.
    func lineDone() throws {
        buffer.append(UInt8(ascii: "\n"))
        if buffer.count >= 1 << 20 { try flush() }
    }

    func flush() throws {
        guard !buffer.isEmpty else { return }
        let written = buffer.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, handle) }
        guard written == buffer.count else {
            throw DataSetError(message: "writing \(path) failed: \(String(cString: strerror(errno)))")
        }
        buffer.removeAll(keepingCapacity: true)
    }

    func close() throws {
        try flush()
        guard fflush(handle) == 0 else { throw DataSetError(message: "writing \(path) failed") }
    }
}

public struct DataSetError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}

extension [UInt8] {
    mutating func append(_ s: StaticString) {
        s.withUTF8Buffer { append(contentsOf: $0) }
    }

    mutating func appendDecimal(_ n: Int) { JSONWriter.writeInt(Int64(n), into: &self) }
}
