import Foundation
import TroveCore

/// A `trove serve` child process on a temporary port, as a client would meet it: the benchmarks and the
/// crash test drive it over loopback and can kill it with any signal.
public final class ServerProcess: @unchecked Sendable {
    public let process: ChildProcess
    public let port: Int
    public let accountSecret: String
    public let logPath: String

    public var pid: Int32 { process.pid }

    /// Starts `executable serve --database PATH --port 0 ...` and waits until it listens. The account
    /// secret is the one it prints on a fresh database, unless the caller already knows it.
    public static func start(
        executable: String, database: String, accountSecret known: String? = nil, arguments extra: [String] = [],
        logDirectory: String, timeout: Double = 60
    ) throws -> ServerProcess {
        // Each start in a directory logs to files of its own (serve.log, serve-2.log, …): a run that
        // restarts the server keeps what the earlier one logged.
        var run = 1
        while FileManager.default.fileExists(atPath: logDirectory + "/serve\(run == 1 ? "" : "-\(run)").log") { run += 1 }
        let name = logDirectory + "/serve\(run == 1 ? "" : "-\(run)")"
        let stdoutPath = name + ".stdout"
        let logPath = name + ".log"
        _ = FileManager.default.createFile(atPath: stdoutPath, contents: nil)
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        let process = try ChildProcess(
            executable, ["serve", "--database", database, "--host", "127.0.0.1", "--port", "0"] + extra,
            stdout: .file(stdoutPath), stderr: .file(logPath))

        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let log = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
            if let port = listeningPort(in: log) {
                let out = (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? ""
                guard let secret = known ?? credentials(in: out) else {
                    process.signal(SIGKILL)
                    process.waitUntilExit()
                    throw BenchError("the server printed no account credentials; start it on a fresh database")
                }
                return ServerProcess(process: process, port: port, accountSecret: secret, logPath: logPath)
            }
            if let status = process.terminationStatus {
                throw BenchError("`trove serve` exited with status \(status): \(log)")
            }
            usleep(20_000)
        }
        process.signal(SIGKILL)
        process.waitUntilExit()
        throw BenchError("`trove serve` did not start listening within \(Int(timeout)) s")
    }

    private init(process: ChildProcess, port: Int, accountSecret: String, logPath: String) {
        self.process = process
        self.port = port
        self.accountSecret = accountSecret
        self.logPath = logPath
    }

    /// The port from the line `serve` prints once it listens: `Trove serving PATH on http://HOST:PORT`.
    static func listeningPort(in log: String) -> Int? {
        for line in log.split(separator: "\n") where line.hasPrefix("Trove serving ") {
            if let colon = line.lastIndex(of: ":"), let port = Int(line[line.index(after: colon)...]) { return port }
        }
        return nil
    }

    static func credentials(in stdout: String) -> String? {
        for line in stdout.split(separator: "\n") {
            if let json = try? JSONParser.parse(Array(line.utf8)), let secret = json["account_secret"]?.stringValue {
                return secret
            }
        }
        return nil
    }

    public func kill(_ signal: Int32) {
        Foundation.kill(pid, signal)
        process.waitUntilExit()
    }

    /// Peak resident memory (VmHWM) in bytes, read while the process is alive.
    public func peakRSS() -> Int {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return 0 }
        for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            let kb = line.split(separator: " ").compactMap { Int($0) }.first ?? 0
            return kb * 1024
        }
        return 0
    }

    /// CPU seconds (user + system) the process has used so far.
    public func cpuSeconds() -> Double {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return 0 }
        let fields = stat[stat.index(close, offsetBy: 2)...].split(separator: " ")
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }
}

public struct BenchError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
