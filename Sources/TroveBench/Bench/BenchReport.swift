import Foundation
import TroveCore

/// What one `trove bench` workload measured: its figures, each with the contract §12 target when there is one.
public struct BenchReport: Sendable {
    public struct Figure: Sendable {
        public enum Target: Sendable {
            case atLeast(Double)
            case atMost(Double)
        }

        public var name: String
        public var value: Double
        public var unit: String
        public var target: Target?

        public init(_ name: String, _ value: Double, _ unit: String, target: Target? = nil) {
            self.name = name
            self.value = value
            self.unit = unit
            self.target = target
        }

        public var met: Bool? {
            switch target {
            case .atLeast(let t)?: return value >= t
            case .atMost(let t)?: return value <= t
            case nil: return nil
            }
        }
    }

    public var workload: String
    /// How it was run (data set size, connections, ...), in order.
    public var setup: [(String, String)]
    public var figures: [Figure]
    /// Checks that must hold for the figures to count (every acknowledged event stored, ...).
    public var checks: [(String, Bool)]

    public init(workload: String, setup: [(String, String)] = [], figures: [Figure] = [], checks: [(String, Bool)] = []) {
        self.workload = workload
        self.setup = setup
        self.figures = figures
        self.checks = checks
    }

    public var passed: Bool { checks.allSatisfy(\.1) && figures.allSatisfy { $0.met != false } }

    public var json: JSON {
        .object([
            JSONMember("workload", .string(workload)),
            JSONMember("date", .string(Timestamp(milliseconds: Int64(Date().timeIntervalSince1970 * 1000)).iso8601)),
            JSONMember("machine", .string(Machine.description)),
            JSONMember("setup", .object(setup.map { JSONMember($0.0, .string($0.1)) })),
            JSONMember(
                "figures",
                .array(
                    figures.map { f in
                        var members = [
                            JSONMember("name", .string(f.name)), JSONMember("value", Self.jsonNumber(f.value)),
                            JSONMember("unit", .string(f.unit)),
                        ]
                        switch f.target {
                        case .atLeast(let t)?: members.append(JSONMember("target", .string(">= \(Self.format(t))")))
                        case .atMost(let t)?: members.append(JSONMember("target", .string("<= \(Self.format(t))")))
                        case nil: break
                        }
                        if let met = f.met { members.append(JSONMember("met", .bool(met))) }
                        return .object(members)
                    })),
            JSONMember("checks", .object(checks.map { JSONMember($0.0, .bool($0.1)) })),
            JSONMember("passed", .bool(passed)),
        ])
    }

    public var table: String {
        var lines = ["\(workload) — \(Machine.description)"]
        for (k, v) in setup { lines.append("  \(k): \(v)") }
        let nameWidth = max(10, figures.map(\.name.count).max() ?? 0)
        let values = figures.map { "\(Self.format($0.value)) \($0.unit)" }
        let valueWidth = max(8, values.map(\.count).max() ?? 0)
        lines.append("")
        lines.append(pad("figure", nameWidth) + "  " + pad("value", valueWidth) + "  target")
        for (f, value) in zip(figures, values) {
            var line = pad(f.name, nameWidth) + "  " + pad(value, valueWidth)
            switch f.target {
            case .atLeast(let t)?: line += "  >= \(Self.format(t)) \(f.unit)"
            case .atMost(let t)?: line += "  <= \(Self.format(t)) \(f.unit)"
            case nil: break
            }
            if let met = f.met { line += met ? "  ok" : "  MISSED" }
            lines.append(line)
        }
        if !checks.isEmpty {
            lines.append("")
            for (name, ok) in checks { lines.append("  [\(ok ? "ok" : "FAILED")] \(name)") }
        }
        return lines.joined(separator: "\n")
    }

    private func pad(_ s: String, _ width: Int) -> String {
        s.count >= width ? s : s + String(repeating: " ", count: width - s.count)
    }

    /// Thousands separated, one decimal below 100.
    static func format(_ v: Double) -> String {
        if v.rounded() == v || abs(v) >= 100 {
            let n = Int(v.rounded())
            var digits = String(n.magnitude)
            var i = digits.count - 3
            while i > 0 {
                digits.insert(",", at: digits.index(digits.startIndex, offsetBy: i))
                i -= 3
            }
            return (n < 0 ? "-" : "") + digits
        }
        return String(format: abs(v) < 10 ? "%.2f" : "%.1f", v)
    }

    private static func jsonNumber(_ v: Double) -> JSON {
        v.rounded() == v && abs(v) < 1e15 ? .int(Int64(v)) : .double((v * 1000).rounded() / 1000)
    }
}

/// The machine a figure was measured on, for the README table.
public enum Machine {
    public static let description: String = {
        var model = "unknown CPU"
        if let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
            let line = info.split(separator: "\n").first(where: { $0.hasPrefix("model name") }),
            let colon = line.firstIndex(of: ":")
        {
            model = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        let gib = Double(ProcessInfo.processInfo.physicalMemory) / Double(1 << 30)
        return "\(ProcessInfo.processInfo.activeProcessorCount) cores (\(model)), \(Int(gib.rounded())) GiB"
    }()
}
