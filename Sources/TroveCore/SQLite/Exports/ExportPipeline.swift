import Foundation
import GRDB

/// Rows of an export as the reader copied them out of SQLite: the text of each row's uid, email and
/// properties back to back in one buffer, so a chunk is a few allocations whatever its size.
struct RowChunk: Sendable {
    struct Row: Sendable {
        var uid: Range<Int>?
        var email: Range<Int>?
        var id: Int64
        /// The company's slot in `CustomerExport.CompanyFields` (nil: none, or no company columns).
        var company: Int?
        var properties: Range<Int>
    }

    var bytes: [UInt8] = []
    var rows: [Row] = []
    /// The built-in columns asked for, row after row (empty when there are none).
    var extras: [SQLValue] = []

    static let capacity = 1024

    init() {
        bytes.reserveCapacity(Self.capacity * 384)
        rows.reserveCapacity(Self.capacity)
    }

    mutating func append(_ text: UnsafeBufferPointer<UInt8>) -> Range<Int> {
        let start = bytes.count
        bytes.append(contentsOf: text)
        return start..<bytes.count
    }
}

/// Splits an export over the two cores: the caller's thread steps SQLite and copies rows into chunks, a
/// second thread formats them into the CSV and writes the file. At most `depth` chunks wait between the
/// two, so memory stays bounded however large the export.
final class ExportPipeline: @unchecked Sendable {
    private let condition = NSCondition()
    private var queue: [RowChunk] = []
    private var closed = false
    private var failure: (any Error)?
    private var csv: CSVWriter
    private let done = DispatchSemaphore(value: 0)
    static let depth = 4

    init(csv: CSVWriter, format: @escaping @Sendable (RowChunk, inout CSVWriter) throws -> Void) {
        self.csv = csv
        let thread = Thread { [self] in
            defer { done.signal() }
            while let chunk = next() {
                do {
                    try format(chunk, &self.csv)
                } catch {
                    condition.lock()
                    failure = error
                    closed = true
                    queue.removeAll()
                    condition.broadcast()
                    condition.unlock()
                    return
                }
            }
        }
        thread.name = "trove.export.format"
        thread.start()
    }

    private func next() -> RowChunk? {
        condition.lock()
        defer { condition.unlock() }
        while queue.isEmpty && !closed { condition.wait() }
        guard !queue.isEmpty else { return nil }
        let chunk = queue.removeFirst()
        condition.broadcast()
        return chunk
    }

    /// Hands a chunk to the formatter, waiting while `depth` are queued; rethrows a formatter failure.
    func send(_ chunk: RowChunk) throws {
        condition.lock()
        defer { condition.unlock() }
        while queue.count >= Self.depth && failure == nil { condition.wait() }
        if let failure { throw failure }
        queue.append(chunk)
        condition.broadcast()
    }

    /// Waits for the formatter to finish what was sent; returns the writer, or rethrows its failure.
    func finish() throws -> CSVWriter {
        close()
        done.wait()
        if let failure { throw failure }
        return csv
    }

    /// Stops the formatter without waiting for the rest (the reader failed).
    func cancel() {
        condition.lock()
        queue.removeAll()
        closed = true
        condition.broadcast()
        condition.unlock()
        done.wait()
    }

    private func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
    }
}
