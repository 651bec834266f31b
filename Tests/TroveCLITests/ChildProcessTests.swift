import Foundation
import Testing
import TroveBench

#if canImport(Glibc)
import Glibc
#endif

/// The `posix_spawn` child the CLI tests and benchmarks start (`ChildProcess`).
@Suite struct ChildProcessTests {
    @Test func passesInputAndOutputAndTheExitStatus() throws {
        let ran = try ChildProcess.run("/bin/sh", ["-c", "cat; echo oops >&2; exit 3"], input: "hello\n")
        #expect(ran.status == 3)
        #expect(ran.output == "hello\n")
        #expect(ran.errors == "oops\n")
    }

    @Test func keepsThisProcesssDescriptorsToItself() throws {
        let path = FileManager.default.temporaryDirectory.path + "/trove-child-fd-\(UUID().uuidString)"
        let descriptor = open(path, O_WRONLY | O_CREAT, 0o600)  // no O_CLOEXEC: inherited unless closed
        #expect(descriptor > 2)
        defer {
            close(descriptor)
            unlink(path)
        }
        let ran = try ChildProcess.run("/bin/sh", ["-c", "test -e /proc/self/fd/\(descriptor) && echo open || echo closed"])
        #expect(ran.output == "closed\n")
    }

    @Test func startsWithEverySignalAtItsDefault() throws {
        let previous = signal(SIGTERM, SIG_IGN)  // as ServiceLifecycle does to watch for it
        defer { signal(SIGTERM, previous) }
        let ran = try ChildProcess.run("/bin/sh", ["-c", "kill -TERM $$; echo survived"])
        #expect(ran.status == SIGTERM, "\(ran.output)")
    }

    @Test func saysWhichSignalEndedIt() throws {
        let child = try ChildProcess("/bin/sleep", ["30"])
        #expect(child.isRunning)
        #expect(child.terminationStatus == nil)
        child.signal(SIGKILL)
        #expect(child.waitUntilExit() == SIGKILL)
        #expect(!child.isRunning)
        #expect(throws: BenchError.self) { try ChildProcess("/nonexistent/trove", []) }
    }
}
