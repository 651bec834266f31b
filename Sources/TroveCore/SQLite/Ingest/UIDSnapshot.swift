/// The writer's uid cache as handed to an importer (`WriteCaches.directory`): the importer finds each
/// event's profile id in it while parsing, and the writer takes the ids for as long as its epoch stands.
struct UIDSnapshot: ProfileDirectory {
    let table: UIDTable
    let epoch: UInt64

    func hint(account: Int64, uid: String) -> ProfileHint? {
        table[AccountKey(account: account, key: uid)].map { ProfileHint(id: $0, epoch: epoch) }
    }
}
