#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads a file line by line in large blocks (NDJSON imports). Lines are returned without the newline;
/// a final line without one is returned too.
public final class LineReader {
    private let fd: Int32
    private var buffer: [UInt8] = []
    private var start = 0
    private var eof = false
    public private(set) var bytesRead = 0
    public let fileSize: Int
    /// The bytes of the lines returned so far (newlines included): `bytesRead` less what is buffered.
    public var bytesConsumed: Int { bytesRead - (buffer.count - start) }

    public init(path: String) throws(ImportError) {
        fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw .cannotOpen(path, String(cString: strerror(errno))) }
        var st = stat()
        fileSize = fstat(fd, &st) == 0 ? Int(st.st_size) : 0
    }

    deinit { close(fd) }

    /// The next line, or nil at the end of the file.
    public func next() throws(ImportError) -> ArraySlice<UInt8>? {
        while true {
            if let nl = buffer[start...].firstIndex(of: 0x0A) {
                var line = buffer[start..<nl]
                start = nl + 1
                if line.last == 0x0D { line = line.dropLast() }
                return line
            }
            if eof {
                guard start < buffer.count else { return nil }
                let line = buffer[start...]
                start = buffer.count
                return line
            }
            try fill()
        }
    }

    private func fill() throws(ImportError) {
        if start > 0 {
            buffer.removeSubrange(0..<start)
            start = 0
        }
        let chunk = 1 << 20
        let old = buffer.count
        buffer.append(contentsOf: repeatElement(0, count: chunk))
        let n = buffer.withUnsafeMutableBytes { raw in read(fd, raw.baseAddress! + old, chunk) }
        guard n >= 0 else { throw .readFailed(String(cString: strerror(errno))) }
        buffer.removeLast(chunk - n)
        bytesRead += n
        if n == 0 { eof = true }
    }
}

public enum ImportError: Error, CustomStringConvertible {
    case cannotOpen(String, String)
    case readFailed(String)

    public var description: String {
        switch self {
        case .cannotOpen(let path, let why): return "cannot open \(path): \(why)"
        case .readFailed(let why): return "read failed: \(why)"
        }
    }
}
