import Foundation
import Logging
import Synchronization
import TroveCore

/// Where the server's log lines go: standard error, one line each, as JSON objects or as
/// `time level message key=value …` text. Lines are buffered and written every 50 ms by a background
/// thread (and at once for errors, and at exit), so a request's log line costs a format and a copy, not
/// a write system call: measured on `trove bench http-single`, StreamLogHandler's line per request cost
/// ~13% of throughput.
public final class LogSink: Sendable {
    public enum Format: String, Sendable, CaseIterable { case text, json }

    let format: Format
    private let buffer = Mutex<[UInt8]>([])
    private let descriptor: Int32

    public init(format: Format, descriptor: Int32 = 2) {
        self.format = format
        self.descriptor = descriptor
        // The process's one sink: the thread lives as long as the process.
        Thread { [self] in
            while true {
                flush()
                Thread.sleep(forTimeInterval: 0.05)
            }
        }.start()
    }

    public func flush() {
        let pending = buffer.withLock { bytes -> [UInt8] in
            defer { bytes.removeAll(keepingCapacity: true) }
            return bytes
        }
        guard !pending.isEmpty else { return }
        pending.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = write(descriptor, raw.baseAddress! + offset, raw.count - offset)
                if n <= 0 { return }
                offset += n
            }
        }
    }

    func append(_ line: [UInt8], now: Bool) {
        buffer.withLock { $0 += line }
        if now { flush() }
    }

    public func handler(label: String) -> Handler { Handler(label: label, sink: self) }

    public struct Handler: LogHandler {
        let label: String
        let sink: LogSink
        public var metadata: Logger.Metadata = [:]
        public var logLevel: Logger.Level = .info

        public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        public func log(event: LogEvent) {
            // The event's own metadata (sorted), then the logger's (the request id) unless the event overrides it.
            var pairs = (event.metadata ?? [:]).sorted { $0.key < $1.key }
            for (key, value) in metadata where event.metadata?[key] == nil { pairs.append((key, value)) }
            var now = timespec()
            clock_gettime(CLOCK_REALTIME, &now)
            let time = Timestamp(milliseconds: Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000).iso8601
            var line: [UInt8]
            switch sink.format {
            case .json:
                var members = [
                    JSONMember("time", .string(time)), JSONMember("level", .string(event.level.rawValue)),
                    JSONMember("label", .string(label)), JSONMember("message", .string(event.message.description)),
                ]
                for (key, value) in pairs { members.append(JSONMember(Self.name(key), Self.json(value))) }
                line = JSONWriter.bytes(.object(members))
            case .text:
                line = []
                line.reserveCapacity(192)
                line += time.utf8
                line.append(0x20)
                line += event.level.rawValue.utf8
                line.append(0x20)
                line += event.message.description.utf8
                for (key, value) in pairs {
                    line.append(0x20)
                    line += Self.name(key).utf8
                    line.append(0x3D)
                    line += value.description.utf8
                }
            }
            line.append(0x0A)
            sink.append(line, now: event.level >= .error)
        }

        /// Hummingbird's request id key, shown as `request_id`.
        static func name(_ key: String) -> String { key == "hb.request.id" ? "request_id" : key }

        static func json(_ value: Logger.Metadata.Value) -> JSON {
            switch value {
            case .string(let s): return .string(s)
            case .stringConvertible(let c): return .string(c.description)
            case .array(let a): return .array(a.map(json))
            case .dictionary(let d): return .object(d.sorted { $0.key < $1.key }.map { JSONMember($0.key, json($0.value)) })
            }
        }
    }
}
