/// One export job (contract §7), as stored.
public struct Export: Sendable, Equatable {
    public enum Status: String, Sendable { case pending, done, failed }

    public var id: Int64
    public var account: Int64
    public var type: String
    public var request: JSON
    public var description: String
    public var status: Status
    public var total: Int64
    public var downloads: Int64
    public var attempts: Int64
    public var error: String?
    public var fileBytes: Int64?
    public var createdAt: Timestamp
    public var updatedAt: Timestamp
    public var finishedAt: Timestamp?
    public var expiresAt: Timestamp?
    public var removedAt: Timestamp?
}
