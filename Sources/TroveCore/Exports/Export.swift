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

    /// From stored columns (any engine); the request is its stored JSON text.
    public init(id: Int64, account: Int64, type: String, request: String, description: String, status: String, total: Int64, downloads: Int64,
                attempts: Int64, error: String?, fileBytes: Int64?, createdAt: Int64, updatedAt: Int64, finishedAt: Int64?, expiresAt: Int64?,
                removedAt: Int64?) throws(StoredDataError) {
        self.id = id
        self.account = account
        self.type = type
        self.request = try StoredJSON.parse(request, "exports", "request", id: id)
        self.description = description
        self.status = Status(rawValue: status) ?? .failed
        self.total = total
        self.downloads = downloads
        self.attempts = attempts
        self.error = error
        self.fileBytes = fileBytes
        self.createdAt = Timestamp(milliseconds: createdAt)
        self.updatedAt = Timestamp(milliseconds: updatedAt)
        self.finishedAt = finishedAt.map(Timestamp.init(milliseconds:))
        self.expiresAt = expiresAt.map(Timestamp.init(milliseconds:))
        self.removedAt = removedAt.map(Timestamp.init(milliseconds:))
    }
}
