/// Identifiers the writer has already resolved (uid → profile id, event name → interned id), kept across
/// transactions. Only the writer touches them, inside its serialized transactions; entries learned in a
/// transaction are merged only after it commits, so a rollback never leaves a dangling id behind.
final class WriteCaches: @unchecked Sendable {
    struct Key: Hashable {
        var account: Int64
        var key: String
    }

    static let maxProfiles = 2_000_000

    var profiles: [Key: Int64] = [:]
    var eventNames: [Key: (id: Int64, name: String)] = [:]
    /// Customer.io destination settings parsed, by their stored text.
    var destinations: [String: CustomerIODestination] = [:]

    func merge(profiles newProfiles: [Key: Int64], eventNames newNames: [Key: (id: Int64, name: String)]) {
        if profiles.count + newProfiles.count > Self.maxProfiles { profiles.removeAll(keepingCapacity: true) }
        profiles.merge(newProfiles) { _, new in new }
        eventNames.merge(newNames) { _, new in new }
    }

    /// Forget everything (after a transaction failed, or when rows are deleted).
    func reset() {
        profiles.removeAll()
        eventNames.removeAll()
    }
}
