#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A point in time as milliseconds since the Unix epoch, UTC — how Trove stores every time.
public struct Timestamp: Sendable, Hashable, Comparable, Codable {
    public var milliseconds: Int64

    public init(milliseconds: Int64) { self.milliseconds = milliseconds }
    public init(seconds: Int64) { self.milliseconds = seconds * 1000 }

    public static func < (a: Timestamp, b: Timestamp) -> Bool { a.milliseconds < b.milliseconds }

    public var seconds: Int64 { milliseconds >= 0 ? milliseconds / 1000 : (milliseconds - 999) / 1000 }

    public func adding(milliseconds delta: Int64) -> Timestamp { Timestamp(milliseconds: milliseconds + delta) }

    /// floor(ms / unit): the start of the `unit`-long period holding `ms`, counted in units (also before 1970).
    public static func floor(_ ms: Int64, units unit: Int64) -> Int64 {
        let (q, r) = ms.quotientAndRemainder(dividingBy: unit)
        return r < 0 ? q - 1 : q
    }

    /// SQL writing a millisecond column as `iso8601` does (UTC, milliseconds, `Z`).
    static func iso8601SQL(_ column: String) -> String {
        "strftime('%Y-%m-%dT%H:%M:%fZ', (\(column)) / 1000.0, 'unixepoch')"
    }

    /// `2026-03-01T12:00:00.000Z`: fixed width for years 0000–9999, so the text compares chronologically.
    /// Every time Trove takes in is in that range; one outside it (a row written by hand) is shown clamped
    /// to its nearer end rather than stopping the process.
    public var iso8601: String {
        let ms = min(max(milliseconds, Self.representable.lowerBound), Self.representable.upperBound)
        let days = ms >= 0 ? ms / 86_400_000 : (ms - 86_399_999) / 86_400_000
        let msOfDay = ms - days * 86_400_000
        let (y, m, d) = Self.civil(fromDays: days)
        let h = msOfDay / 3_600_000
        let mi = msOfDay / 60_000 % 60
        let s = msOfDay / 1000 % 60
        let f = msOfDay % 1000
        var out = [UInt8]()
        out.reserveCapacity(24)
        func put(_ v: Int64, _ width: Int) {
            var digits = [UInt8](repeating: 0x30, count: width)
            var v = v
            for i in stride(from: width - 1, through: 0, by: -1) {
                digits[i] = 0x30 + UInt8(v % 10)
                v /= 10
            }
            out.append(contentsOf: digits)
        }
        put(y, 4); out.append(0x2D); put(m, 2); out.append(0x2D); put(d, 2)
        out.append(UInt8(ascii: "T"))
        put(h, 2); out.append(0x3A); put(mi, 2); out.append(0x3A); put(s, 2)
        out.append(0x2E); put(f, 3); out.append(UInt8(ascii: "Z"))
        return String(decoding: out, as: UTF8.self)
    }

    /// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm).
    public static func days(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func civil(fromDays z0: Int64) -> (Int64, Int64, Int64) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (m <= 2 ? y + 1 : y, m, d)
    }

    static func daysInMonth(year: Int64, month: Int64) -> Int64 {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Parses ISO-8601 date-times (`2029-08-21T02:46:46Z`, `2029-08-21 02:46:46`, fractions, offsets
    /// `Z`/`±HH:MM`/`±HHMM`/`±HH`) and dates (`2029-08-21`, midnight UTC). Anything else is nil.
    public static func parseISO8601(_ text: String) -> Timestamp? {
        var text = text
        return text.withUTF8 { parseISO8601(bytes: $0) }
    }

    static func parseISO8601(bytes b: UnsafeBufferPointer<UInt8>) -> Timestamp? {
        let n = b.count
        guard n >= 10, n <= 40 else { return nil }
        var i = 0
        func digits(_ count: Int) -> Int64? {
            guard i + count <= n else { return nil }
            var v: Int64 = 0
            for k in 0..<count {
                let c = b[i + k]
                guard c >= 0x30, c <= 0x39 else { return nil }
                v = v * 10 + Int64(c - 0x30)
            }
            i += count
            return v
        }
        func expect(_ c: UInt8) -> Bool {
            guard i < n, b[i] == c else { return false }
            i += 1
            return true
        }
        guard let year = digits(4), expect(0x2D), let month = digits(2), expect(0x2D), let day = digits(2) else { return nil }
        guard (1...12).contains(month), day >= 1, day <= daysInMonth(year: year, month: month) else { return nil }
        var ms = days(year: year, month: month, day: day) * 86_400_000
        if i == n { return Timestamp(milliseconds: ms) }
        guard b[i] == UInt8(ascii: "T") || b[i] == UInt8(ascii: "t") || b[i] == 0x20 else { return nil }
        i += 1
        guard let hour = digits(2), expect(0x3A), let minute = digits(2), hour <= 23, minute <= 59 else { return nil }
        var second: Int64 = 0
        var fraction: Int64 = 0
        if expect(0x3A) {
            guard let s = digits(2), s <= 60 else { return nil }
            second = min(s, 59)
            if i < n, b[i] == 0x2E || b[i] == 0x2C {
                i += 1
                var scale: Int64 = 100
                var count = 0
                while i < n, b[i] >= 0x30, b[i] <= 0x39 {
                    fraction += Int64(b[i] - 0x30) * scale
                    scale /= 10
                    count += 1
                    i += 1
                }
                guard count > 0 else { return nil }
            }
        }
        ms += hour * 3_600_000 + minute * 60_000 + second * 1000 + fraction
        if i == n { return Timestamp(milliseconds: ms) }
        if b[i] == UInt8(ascii: "Z") || b[i] == UInt8(ascii: "z") {
            return i + 1 == n ? Timestamp(milliseconds: ms) : nil
        }
        guard b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") else { return nil }
        let sign: Int64 = b[i] == UInt8(ascii: "+") ? 1 : -1
        i += 1
        guard let oh = digits(2), oh <= 18 else { return nil }
        var om: Int64 = 0
        if i < n {
            _ = expect(0x3A)
            guard let m = digits(2), m <= 59 else { return nil }
            om = m
        }
        guard i == n else { return nil }
        let t = Timestamp(milliseconds: ms - sign * (oh * 3_600_000 + om * 60_000))
        // An offset can carry 0000-01-01 back past the first representable instant (or 9999-12-31 past the last).
        return t.isRepresentable ? t : nil
    }

    /// Years 0000 through 9999: what a four-digit ISO-8601 year can write, and so every time Trove takes in.
    public static let representable: ClosedRange<Int64> =
        days(year: 0, month: 1, day: 1) * 86_400_000...(days(year: 10_000, month: 1, day: 1) * 86_400_000 - 1)

    public var isRepresentable: Bool { Self.representable.contains(milliseconds) }

    /// Unix seconds, when they name a representable time (never an overflow).
    public init?(unixSeconds: Int64) {
        guard unixSeconds >= Self.representable.lowerBound / 1000, unixSeconds <= Self.representable.upperBound / 1000 else { return nil }
        self.init(seconds: unixSeconds)
    }

    /// A time as query parameters and bodies give one: unix seconds or ISO-8601; nil for anything else or a
    /// time outside the years 0000–9999.
    public static func parse(unixSecondsOrISO8601 text: String) -> Timestamp? {
        if let seconds = Int64(text) { return Timestamp(unixSeconds: seconds) }
        return parseISO8601(text)
    }
}

/// Where "now" comes from. Injected everywhere schedules, windows or expiries are computed (contract §2 `--now`).
public struct TroveClock: Sendable {
    private let source: @Sendable () -> Timestamp
    private let monotonic: @Sendable () -> Duration
    private let sleeper: @Sendable (Duration) async throws -> Void
    private let scheduler: @Sendable (Duration, @escaping @Sendable () -> Void) -> Void

    /// `elapsed` measures intervals (when a rollup is due), `sleep` waits between passes of a background
    /// loop and `after` runs a one-off timer; by default all on the process's monotonic clock, whatever
    /// `source` says the time is.
    public init(
        _ source: @escaping @Sendable () -> Timestamp, elapsed: @escaping @Sendable () -> Duration = TroveClock.monotonicElapsed,
        sleep: @escaping @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) },
        after: @escaping @Sendable (Duration, @escaping @Sendable () -> Void) -> Void = { delay, body in
            Task {
                try? await Task.sleep(for: delay)
                body()
            }
        }
    ) {
        self.source = source
        self.monotonic = elapsed
        self.sleeper = sleep
        self.scheduler = after
    }

    /// Runs `body` once `delay` has passed.
    public func after(_ delay: Duration, _ body: @escaping @Sendable () -> Void) { scheduler(delay, body) }

    public func now() -> Timestamp { source() }

    /// Time since an arbitrary origin, never going back: for intervals, not for stamping data.
    public func elapsed() -> Duration { monotonic() }

    private static let origin = ContinuousClock.now
    public static let monotonicElapsed: @Sendable () -> Duration = { ContinuousClock.now - origin }

    /// Waits `duration` (a `ManualClock` waits until a test moves it that far).
    public func sleep(for duration: Duration) async throws { try await sleeper(duration) }

    /// The real clock.
    public static let system = TroveClock {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Timestamp(milliseconds: Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000)
    }

    /// A clock stopped at one instant.
    public static func fixed(_ t: Timestamp) -> TroveClock { TroveClock { t } }
}
