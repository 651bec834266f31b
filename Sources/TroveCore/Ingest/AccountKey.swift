#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An identifier in an account (a uid, an email, a message id, an event name's key) as the writers' caches
/// hold it: compared and hashed as its UTF-8 bytes, as the databases' unique indexes compare it. `String`'s
/// own equality takes canonically equivalent text for one ("é" and "e\u{301}"), which are two uids to
/// SQLite and PostgreSQL: keyed by `String`, the second uid's events went to the first one's profile.
public struct AccountKey: Hashable, Sendable {
    public var account: Int64
    public var key: String

    public init(account: Int64, key: String) {
        self.account = account
        self.key = key
    }

    public static func == (a: AccountKey, b: AccountKey) -> Bool { a.account == b.account && sameBytes(a.key, b.key) }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(account)
        var text = key
        text.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
    }

    /// The two strings have the same UTF-8 bytes.
    public static func sameBytes(_ a: String, _ b: String) -> Bool {
        var a = a
        var b = b
        return a.withUTF8 { x in
            b.withUTF8 { y in x.count == y.count && (x.count == 0 || memcmp(x.baseAddress!, y.baseAddress!, x.count) == 0) }
        }
    }
}
