/// Erasure of a person (contract §5 forget; GDPR Art. 17, CCPA deletion): their profile, events, membership
/// and ledger rows, activity and counters, queued deliveries, and the catalog examples and warnings that quote
/// them. The `/v3` forget routes, the Track API's customer delete and `trove forget` all come here.
///
/// The events go first, `batch` at a time through the writer, so ingest waits at most one batch; their ids
/// are listed on a reader (the person's timeline order, `PersonEvents`). The last transaction takes whatever
/// arrived for the person meanwhile, announces a `segment.exited` for each segment they were in, queues the
/// Customer.io delete, drops the rest, and records the deletion. Until then the person exists: events sent
/// for their uid during the erasure land on them and go with them. Erasing the same person twice, or at the
/// same time, finds nobody the second time (404).
public struct Erasure: Sendable {
    public static let batch = 2_000

    let store: any IngestStore
    let reads: any ErasureStore

    public init(store: any IngestStore, reads: any ErasureStore) {
        self.store = store
        self.reads = reads
    }

    public func forget(account: Int64, person: ObjectLookup, source: Deletion.Source) async throws -> ErasureReceipt {
        guard let profile = try await reads.profileID(account: account, person) else {
            throw ReadError.notFound("no profile with \(person.describedForErrors)")
        }
        return try await forget(account: account, profile: profile, source: source)
    }

    public func forget(account: Int64, profile: Int64, source: Deletion.Source) async throws -> ErasureReceipt {
        let listed = try await reads.eventIDs(account: account, profile: profile)
        let ids = listed.ids
        var values = PersonValues()
        var events: Int64 = 0
        // Every event written after the listing has an id above the log's top at some point since (ids of
        // deleted top events can be handed out again): the last step looks above the lowest such top.
        var since = listed.top
        var start = 0
        while start < ids.count {
            let chunk = Array(ids[start..<min(start + Self.batch, ids.count)])
            start += chunk.count
            let gone = try await store.write(weight: chunk.count) { session in
                try session.deletePersonEvents(chunk, profile: profile, account: account)
            }
            values.formUnion(gone.values)
            events += gone.count
            since = min(since, gone.top)
        }
        let (seen, counted, after) = (values, events, since)
        guard let receipt = try await store.write(weight: 1, { session in
            try session.eraseProfile(profile, account: account, values: seen, events: counted, eventsAfter: after, source: source)
        }) else {
            throw ReadError.notFound("no profile with id \(PublicID.encode(profile))")
        }
        reads.erased()
        return receipt
    }
}

extension Erasure {
    /// `DELETE /v3/edit/companies/:id` (contract §5): without `cascade` its people stay, unlinked (their company
    /// conditions are evaluated again); with it each of them is erased as `forget` does, then the company.
    public func forgetCompany(account: Int64, company: Int64, cascade: Bool) async throws -> CompanyErasureReceipt {
        guard try await reads.companyExists(account: account, company) else {
            throw ReadError.notFound("no company with id \(PublicID.encode(company))")
        }
        var erased: Int64 = 0
        if cascade {
            for profile in try await reads.profileIDs(account: account, company: company) {
                do {
                    _ = try await forget(account: account, profile: profile, source: .company)
                    erased += 1
                } catch ReadError.notFound {
                    // Erased meanwhile by another request.
                }
            }
        }
        let count = erased
        guard let receipt = try await store.write(weight: 1, { session in
            try session.eraseCompany(company, account: account, erasedProfiles: count)
        }) else {
            throw ReadError.notFound("no company with id \(PublicID.encode(company))")
        }
        reads.erased()
        return receipt
    }
}
