/// `IngestStore` on SQLite: the group-commit `WriteQueue`, its transactions' `WriteSession`s.
extension WriteQueue: IngestStore {
    public func write<T: Sendable>(weight: Int, _ work: @escaping @Sendable (any IngestWrites) throws -> T) async throws -> T {
        try await perform(weight: weight) { session in try work(session) }
    }
}

extension WriteSession: IngestWrites {
    public func profileID(_ customer: CustomerID, account: Int64) throws -> Int64? {
        try customer.profileID(db, account: account)
    }
}
