import GRDB

/// Whether a storage error means "busy right now" (another connection holds a lock past the busy timeout):
/// worth a retry, so a 503 rather than a 500.
public func isStorageBusy(_ error: any Error) -> Bool {
    guard let e = error as? DatabaseError else { return false }
    return e.resultCode == .SQLITE_BUSY || e.resultCode == .SQLITE_LOCKED
}
