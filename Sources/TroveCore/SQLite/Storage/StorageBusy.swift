import GRDB

/// Why storage cannot take work right now (busy, the disk full or failing), as a message worth a retry
/// later: a 503. Nil for every other error, which is a fault to report (a 500), not a state to wait out.
public func storageUnavailability(_ error: any Error) -> String? {
    if let e = error as? any StorageUnavailable { return e.unavailability }
    guard let e = error as? DatabaseError else { return nil }
    switch e.resultCode {
    case .SQLITE_BUSY, .SQLITE_LOCKED: return "the database is busy; retry shortly"
    case .SQLITE_FULL: return "the disk holding the database is full; retry once space is freed"
    case .SQLITE_IOERR: return "the database could not be read or written (I/O error); retry shortly"
    default: return nil
    }
}
