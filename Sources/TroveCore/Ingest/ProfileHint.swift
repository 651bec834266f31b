/// A profile id found for an event's uid off the writer, while the import parses (`ProfileDirectory`), and
/// the writer's `epoch` it holds for: the writer takes the id without a lookup of its own only while its
/// epoch is unchanged, that is while nothing it remembers could have moved a uid (a profile erased, a
/// transaction failed). Ids do not otherwise change: a profile keeps its uid for life.
public struct ProfileHint: Sendable, Equatable {
    public var id: Int64
    public var epoch: UInt64

    public init(id: Int64, epoch: UInt64) {
        self.id = id
        self.epoch = epoch
    }
}

/// Profile ids by uid as an engine read them for an import of events (`IngestStore.prepareForEvents`): the
/// importer stamps each event with its profile's id while it parses (on the parsing side of the pipeline,
/// with a core to spare), and the writer, whose time bounds the import, skips the lookup. At ten million
/// profiles that lookup is a cache miss on the writer per event.
public protocol ProfileDirectory: Sendable {
    func hint(account: Int64, uid: String) -> ProfileHint?
}

extension ProfileDirectory {
    /// Stamps every event that names its profile by uid alone and whose uid is known.
    public func stamp(_ items: inout [Ingestor.Item], account: Int64) {
        for i in items.indices {
            guard case .event(var e) = items[i], let uid = e.uid, e.email == nil, e.profileID == nil,
                let hint = hint(account: account, uid: uid)
            else { continue }
            e.profileHint = hint
            items[i] = .event(e)
        }
    }
}
