import Foundation
import TroveCore

/// DuckDB on the same data set files, in the same run: `fixtures/bench/compare_peers.py --all --json` (Python
/// with the `duckdb` module), which loads the three files once into one DuckDB database and times the events'
/// load, the export's COPY and the reference segment cold and warm.
public enum PeerBenchmarks {
    /// The script, where the working directory or a directory above the executable holds it (a checkout's
    /// `.build-release/release/trove`); nil when neither does.
    public static func script(near executable: String) -> String? {
        let relative = "fixtures/bench/compare_peers.py"
        var directory = URL(fileURLWithPath: executable).deletingLastPathComponent()
        var candidates = [FileManager.default.currentDirectoryPath + "/" + relative]
        while directory.path != "/" {
            candidates.append(directory.path + "/" + relative)
            directory.deleteLastPathComponent()
        }
        return candidates.first { FileManager.default.fileExists(atPath: $0) }
    }

    /// DuckDB's figures for the data set in `data`, under the names Trove's own figures have in the scale
    /// report, and a check that DuckDB counts the generator's reference segment. A script or Python that cannot
    /// run makes a failed check saying why, not an error: Trove's figures stand without DuckDB's.
    public static func measure(script: String?, data: String, log: (String) -> Void) -> BenchReport {
        var report = BenchReport(workload: "DuckDB")
        guard let script else {
            report.checks = [("DuckDB side ran (fixtures/bench/compare_peers.py not found; pass --peers PATH)", false)]
            return report
        }
        guard let python = executable(named: "python3") else {
            report.checks = [("DuckDB side ran (no python3 on PATH)", false)]
            return report
        }
        log("DuckDB on the same files: \(python) \(script) \(data) --all --json")
        let started = Date()
        let result: (status: Int32, output: String, errors: String)
        do {
            result = try ChildProcess.run(python, [script, data, "--all", "--json"])
        } catch {
            report.checks = [("DuckDB side ran (\(error))", false)]
            return report
        }
        let lines = result.output.split(separator: "\n")
        lines.dropLast().forEach { log("  " + $0) }
        guard result.status == 0, let last = lines.last, let json = try? JSONParser.parse(Array(last.utf8)) else {
            let why = result.errors.split(separator: "\n").last.map(String.init) ?? "exit status \(result.status)"
            report.checks = [("DuckDB side ran (\(why))", false)]
            return report
        }
        func number(_ key: String) -> Double {
            switch json[key] {
            case .double(let d)?: return d
            case .int(let i)?: return Double(i)
            default: return .nan
            }
        }
        report.setup = [("DuckDB", "\(json["version"]?.stringValue ?? "?") through Python \(python), \(script) --all: the three files loaded once into one DuckDB database")]
        report.figures = [
            .init("DuckDB: events loaded (read_json, events alone)", number("events/s"), "events/s"),
            .init("DuckDB: file per event (events alone)", number("bytes per event"), "bytes"),
            .init("DuckDB: export (COPY of the same 10 columns to CSV, median of 3)", number("export rows/s"), "rows/s"),
            .init("DuckDB: reference segment, cold", number("segment cold ms"), "ms"),
            .init("DuckDB: reference segment, warm (median of 7)", number("segment warm ms"), "ms"),
            .init("DuckDB side, time", Date().timeIntervalSince(started) / 60, "min"),
        ]
        report.checks = [("DuckDB counts the generator's reference segment (\(Int(number("members"))) of \(Int(number("expected members"))))",
                          number("members") == number("expected members"))]
        return report
    }

    /// `name`'s path in the first directory of `PATH` that holds an executable of that name.
    static func executable(named name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        return path.split(separator: ":").map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }
}
