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
///
/// Several people (a company's, with `cascade`) are erased together: their events in shared batches, their
/// last steps `group` people to a transaction, with one scrub of what quotes any of them per transaction —
/// the scrub reads every catalog example, warning and stored reply of the account, once, not once a person.
public struct Erasure: Sendable {
    let store: any IngestStore
    let reads: any ErasureStore
    /// Events deleted per transaction.
    let batch: Int
    /// People whose last steps share a transaction.
    let group: Int

    public init(store: any IngestStore, reads: any ErasureStore, batch: Int = 2_000, group: Int = 100) {
        self.store = store
        self.reads = reads
        self.batch = max(1, batch)
        self.group = max(1, group)
    }

    public func forget(account: Int64, person: ObjectLookup, source: Deletion.Source) async throws -> ErasureReceipt {
        guard let profile = try await reads.profileID(account: account, person) else {
            throw ReadError.notFound("no profile with \(person.describedForErrors)")
        }
        return try await forget(account: account, profile: profile, source: source)
    }

    public func forget(account: Int64, profile: Int64, source: Deletion.Source) async throws -> ErasureReceipt {
        guard let receipt = try await forget(account: account, profiles: [profile], source: source).first else {
            throw ReadError.notFound("no profile with id \(PublicID.encode(profile))")
        }
        return receipt
    }

    /// Erases `profiles`; the receipts of those erased, in order (one gone already, or erased meanwhile by
    /// another request, is left out).
    public func forget(account: Int64, profiles: [Int64], source: Deletion.Source) async throws -> [ErasureReceipt] {
        var people: [PersonErasure] = []
        var pending: [(person: Int, ids: ArraySlice<Int64>)] = []
        var pendingCount = 0
        for profile in profiles {
            let listed = try await reads.eventIDs(account: account, profile: profile)
            // Every event written after the listing has an id above the log's top at some point since (ids of
            // deleted top events can be handed out again): the last step looks above the lowest such top.
            people.append(PersonErasure(profile: profile, values: PersonValues(), events: 0, eventsAfter: listed.top))
            var start = 0
            while start < listed.ids.count {
                let chunk = listed.ids[start..<min(start + batch - pendingCount, listed.ids.count)]
                start += chunk.count
                pending.append((people.count - 1, chunk))
                pendingCount += chunk.count
                if pendingCount == batch {
                    try await deleteEvents(pending, of: &people, account: account)
                    pending = []
                    pendingCount = 0
                }
            }
        }
        if !pending.isEmpty { try await deleteEvents(pending, of: &people, account: account) }

        var receipts: [ErasureReceipt] = []
        var start = 0
        while start < people.count {
            let members = Array(people[start..<min(start + group, people.count)])
            start += members.count
            receipts += try await store.write(weight: members.count) { session in
                let erased = try session.eraseProfiles(members, account: account, source: source)
                var quoted = PersonValues()
                for gone in erased {
                    if quoted.count + gone.values.count > PersonValues.maxValues {
                        try session.scrubTraces(account: account, values: quoted)
                        quoted = PersonValues()
                    }
                    quoted.formUnion(gone.values)
                }
                try session.scrubTraces(account: account, values: quoted)
                return erased.map(\.receipt)
            }
        }
        if !receipts.isEmpty { reads.erased() }
        return receipts
    }

    /// One batch of events (of one person or several) in one transaction of the writer.
    private func deleteEvents(_ chunks: [(person: Int, ids: ArraySlice<Int64>)], of people: inout [PersonErasure], account: Int64) async throws {
        let work = chunks.map { (profile: people[$0.person].profile, ids: Array($0.ids)) }
        let gone = try await store.write(weight: work.reduce(0) { $0 + $1.ids.count }) { session in
            try work.map { try session.deletePersonEvents($0.ids, profile: $0.profile, account: account) }
        }
        for (item, events) in zip(chunks, gone) {
            people[item.person].values.formUnion(events.values)
            people[item.person].events += events.count
            people[item.person].eventsAfter = min(people[item.person].eventsAfter, events.top)
        }
    }
}

extension Erasure {
    /// `DELETE /v3/edit/companies/:id` (contract §5): without `cascade` its people stay, unlinked (their company
    /// conditions are evaluated again); with it they are erased as `forget` does, then the company.
    public func forgetCompany(account: Int64, company: Int64, cascade: Bool) async throws -> CompanyErasureReceipt {
        guard try await reads.companyExists(account: account, company) else {
            throw ReadError.notFound("no company with id \(PublicID.encode(company))")
        }
        var erased: Int64 = 0
        if cascade {
            let people = try await reads.profileIDs(account: account, company: company)
            erased = Int64(try await forget(account: account, profiles: people, source: .company).count)
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
