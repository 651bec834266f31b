import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A child process started with `posix_spawn`, its standard descriptors on the null device or on files.
///
/// Not Foundation's `Process`: on Linux its `run()` over-reads the `/proc/self/fd` entries it lists
/// (swift-corelibs-foundation #5472, fixed after Swift 6.3.1) and killed the test process with SIGSEGV now
/// and then. Files rather than pipes: nothing to drain while waiting, and a grandchild that inherits them (a
/// PostgreSQL server started by a script) cannot keep a reader waiting for their end.
public final class ChildProcess: @unchecked Sendable {
    /// Where one of the child's standard descriptors goes.
    public enum Stream: Sendable {
        case null
        /// Read from this file (standard input), or written to it from its start (output).
        case file(String)
    }

    public let pid: pid_t
    private let lock = NSLock()
    private var waitStatus: Int32?

    /// Starts `executable` with `arguments` and this process's environment.
    public init(_ executable: String, _ arguments: [String], stdin: Stream = .null, stdout: Stream = .null, stderr: Stream = .null) throws {
        Self.closeDescriptorsOnExec()
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for (descriptor, stream, flags) in [(Int32(0), stdin, O_RDONLY), (1, stdout, O_WRONLY | O_CREAT | O_TRUNC), (2, stderr, O_WRONLY | O_CREAT | O_TRUNC)] {
            let path: String
            switch stream {
            case .null: path = "/dev/null"
            case .file(let file): path = file
            }
            posix_spawn_file_actions_addopen(&actions, descriptor, path, flags, 0o644)
        }
        // The child starts with no signal blocked and every signal at its default, whatever this process set
        // (ServiceLifecycle ignores SIGTERM and SIGINT to watch them; an ignored signal stays ignored across exec).
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t(), defaults = sigset_t()
        sigemptyset(&none)
        sigfillset(&defaults)
        sigdelset(&defaults, SIGKILL)
        sigdelset(&defaults, SIGSTOP)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let failed = posix_spawn(&pid, executable, &actions, &attributes, argv, environ)
        guard failed == 0 else { throw BenchError("could not start \(executable): \(String(cString: strerror(failed)))") }
        self.pid = pid
    }

    /// Runs `executable` to its end, `input` on its standard input; its exit status and what it printed on
    /// standard output and standard error.
    public static func run(_ executable: String, _ arguments: [String], input: String? = nil) throws -> (status: Int32, output: String, errors: String) {
        let directory = FileManager.default.temporaryDirectory.path + "/trove-child-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var stdin = Stream.null
        if let input {
            try input.write(toFile: directory + "/in", atomically: false, encoding: .utf8)
            stdin = .file(directory + "/in")
        }
        let child = try ChildProcess(executable, arguments, stdin: stdin, stdout: .file(directory + "/out"), stderr: .file(directory + "/err"))
        let status = child.waitUntilExit()
        let read = { (name: String) in (try? String(contentsOfFile: directory + "/" + name, encoding: .utf8)) ?? "" }
        return (status, read("out"), read("err"))
    }

    /// Waits for the child to end; its exit status, or the number of the signal that ended it.
    @discardableResult
    public func waitUntilExit() -> Int32 {
        lock.lock()
        defer { lock.unlock() }
        reap(options: 0)
        return Self.terminationStatus(waitStatus ?? 0)
    }

    public var isRunning: Bool {
        lock.lock()
        defer { lock.unlock() }
        reap(options: WNOHANG)
        return waitStatus == nil
    }

    /// The exit status, or the number of the signal that ended it; nil while it runs.
    public var terminationStatus: Int32? {
        isRunning ? nil : lock.withLock { waitStatus.map(Self.terminationStatus) }
    }

    public func signal(_ signal: Int32) {
        if isRunning { _ = kill(pid, signal) }
    }

    private func reap(options: Int32) {
        while waitStatus == nil {
            var status: Int32 = 0
            let reaped = waitpid(pid, &status, options)
            if reaped == pid { waitStatus = status; return }
            if reaped == 0 { return }  // WNOHANG, still running
            if errno != EINTR { waitStatus = 0; return }  // not our child any more: nothing to wait for
        }
    }

    private static func terminationStatus(_ status: Int32) -> Int32 {
        status & 0x7f == 0 ? (status >> 8) & 0xff : status & 0x7f
    }

    /// Marks every descriptor of this process past the standard three close-on-exec, as Foundation's
    /// `Process` closes them in the child: a child must not hold this process's sockets or files open.
    private static func closeDescriptorsOnExec() {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") else { return }
        for entry in entries {
            guard let descriptor = Int32(entry), descriptor > 2 else { continue }
            let flags = fcntl(descriptor, F_GETFD)
            if flags >= 0, flags & FD_CLOEXEC == 0 { _ = fcntl(descriptor, F_SETFD, flags | FD_CLOEXEC) }
        }
    }
}
