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

/// Splits an export over the cores: the caller's thread steps SQLite and copies rows into chunks, and
/// `formatters` threads turn chunks into CSV side by side, each into a buffer of its own, which they append
/// to the file in the chunks' order. Formatting costs more than reading (at 10× the reference set ~50% of
/// the export's CPU against ~30%), so with one formatter the reader waited on it; with two, the three
/// threads share the two cores. At most `depth` chunks wait between reader and formatters, so memory stays
/// bounded however large the export.
final class ExportPipeline: @unchecked Sendable {
    private let condition = NSCondition()
    private var queue: [(sequence: Int, chunk: RowChunk)] = []
    private var sent = 0
    /// The next chunk whose CSV goes to the file.
    private var turn = 0
    private var closed = false
    private var failure: (any Error)?
    private var csv: CSVWriter
    private let done: DispatchGroup
    static let depth = 4

    init(csv: CSVWriter, formatters: Int = 2, format: @escaping @Sendable (RowChunk, inout CSVWriter) throws -> Void) {
        self.csv = csv
        done = DispatchGroup()
        for n in 0..<max(1, formatters) {
            done.enter()
            let thread = Thread { [self] in
                defer { done.leave() }
                var local = CSVWriter(memory: csv.formulas)
                while let (sequence, chunk) = next() {
                    do {
                        try format(chunk, &local)
                        try append(local.takeBytes(), sequence: sequence)
                    } catch {
                        fail(error)
                        return
                    }
                }
            }
            thread.name = "trove.export.format.\(n)"
            thread.start()
        }
    }

    private func next() -> (Int, RowChunk)? {
        condition.lock()
        defer { condition.unlock() }
        while queue.isEmpty && !closed { condition.wait() }
        guard !queue.isEmpty else { return nil }
        let item = queue.removeFirst()
        condition.broadcast()
        return item
    }

    /// Writes a chunk's CSV once every chunk before it is written (the formatter holding it waits its turn).
    private func append(_ bytes: [UInt8], sequence: Int) throws {
        condition.lock()
        while turn != sequence && failure == nil { condition.wait() }
        let failed = failure != nil
        condition.unlock()
        guard !failed else { return }
        // Only the thread whose turn it is touches `csv`; the next waits for `turn` to move.
        try csv.write(bytes)
        condition.lock()
        turn += 1
        condition.broadcast()
        condition.unlock()
    }

    private func fail(_ error: any Error) {
        condition.lock()
        if failure == nil { failure = error }
        closed = true
        queue.removeAll()
        condition.broadcast()
        condition.unlock()
    }

    /// Hands a chunk to the formatters, waiting while `depth` are queued; rethrows a formatter failure.
    func send(_ chunk: RowChunk) throws {
        condition.lock()
        defer { condition.unlock() }
        while queue.count >= Self.depth && failure == nil { condition.wait() }
        if let failure { throw failure }
        queue.append((sent, chunk))
        sent += 1
        condition.broadcast()
    }

    /// Waits for the formatters to finish what was sent; returns the writer, or rethrows a failure.
    func finish() throws -> CSVWriter {
        close()
        done.wait()
        if let failure { throw failure }
        return csv
    }

    /// Stops the formatters without waiting for the rest (the reader failed).
    func cancel() {
        condition.lock()
        queue.removeAll()
        closed = true
        if failure == nil { failure = CancellationError() }
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
