import ArgumentParser
import TroveCore
import TroveServer

/// `trove forget`: erase a person (contract §5 forget), as `DELETE /v3/edit/profiles/forget` does; with
/// `--list`, the record of erasures.
struct Forget: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Erase a person: profile, events, memberships and ledger rows, queued deliveries; or list erasures.")

    @OptionGroup var db: DatabaseOptions
    @OptionGroup var accountOptions: AccountOptions
    @OptionGroup var clockOptions: ClockOptions
    @OptionGroup var person: PersonOptions
    @Flag(help: "List the erasures recorded (newest first) instead.") var list = false

    func run() async throws {
        let database = try db.open()
        let clock = try clockOptions.clock()
        let account = try await Accounts(database: database, clock: clock).accountID(named: accountOptions.account)
        let reads = ErasureReader(database: database)
        if list {
            let page = try await reads.deletions(account: account, limit: 500, before: nil)
            for d in page.items { printJSON(ChameleonJSON.deletion(d)) }
            return
        }
        guard let person = try person.lookup() else { throw ValidationError("give one of --uid, --email or --profile-id (or --list)") }
        let queue = WriteQueue(database: database, clock: clock)
        let receipt: ErasureReceipt
        do {
            receipt = try await Erasure(store: queue, reads: reads).forget(account: account, person: person, source: .cli)
        } catch let error as ReadError {
            throw ValidationError(error.description)
        }
        await queue.settled()
        try database.truncateLog()
        printJSON(ChameleonJSON.erasure(receipt))
    }
}
