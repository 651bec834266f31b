import Foundation
import Testing
@testable import TroveCore

/// The export's formatters work side by side, yet the file holds every chunk whole and in the order sent.
@Suite struct ExportPipelineTests {
    @Test func chunksLandWholeAndInOrderWhateverTheirSize() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("pipeline-\(UUID().uuidString).csv").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        // Every third chunk is over the file writer's flush size (1 MiB) on its own and slower to format
        // than the two after it, so a later chunk is often ready before an earlier one.
        let chunks = 40
        let (_, bytes) = try CSVWriter.file(at: path, formulas: .keep) { csv in
            try csv.row([.text("header")])
            let pipeline = ExportPipeline(csv: csv, formatters: 3) { chunk, out in
                let k = chunk.rows[0].id / 1000
                let width = k % 3 == 0 ? 1_200_000 : 10 + Int(k)
                for row in chunk.rows {
                    let text = "\(k)-\(row.id - k * 1000):" + String(repeating: "x", count: width / chunk.rows.count)
                    out.append(.text(text))
                    try out.endRow()
                }
            }
            for k in 0..<chunks {
                var chunk = RowChunk()
                let rows = 1 + k % 4
                for r in 0..<rows {
                    chunk.rows.append(RowChunk.Row(uid: nil, email: nil, id: Int64(k * 1000 + r), company: nil, properties: 0..<0))
                }
                try pipeline.send(chunk)
            }
            csv = try pipeline.finish()
        }
        var expected = "header\n"
        for k in 0..<chunks {
            let rows = 1 + k % 4
            let width = k % 3 == 0 ? 1_200_000 : 10 + k
            for r in 0..<rows { expected += "\(k)-\(r):" + String(repeating: "x", count: width / rows) + "\n" }
        }
        let written = try String(contentsOfFile: path, encoding: .utf8)
        #expect(Int(bytes) == expected.utf8.count)
        #expect(written == expected)
    }

    /// A formatter that fails stops the export: the reader's next send (or the finish) throws its error.
    @Test func aFormattersFailureReachesTheReader() throws {
        struct Broken: Error {}
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("pipeline-\(UUID().uuidString).csv").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(throws: Broken.self) {
            _ = try CSVWriter.file(at: path, formulas: .keep) { csv in
                let pipeline = ExportPipeline(csv: csv) { chunk, _ in
                    if chunk.rows[0].id == 7 { throw Broken() }
                }
                for k in 0..<1000 {
                    var chunk = RowChunk()
                    chunk.rows.append(RowChunk.Row(uid: nil, email: nil, id: Int64(k), company: nil, properties: 0..<0))
                    try pipeline.send(chunk)
                }
                csv = try pipeline.finish()
            }
        }
        #expect(!FileManager.default.fileExists(atPath: path))
    }
}
