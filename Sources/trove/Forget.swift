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
        let person = try person.lookup()
        if !list && person == nil { throw ValidationError("give one of --uid, --email or --profile-id (or --list)") }
        try await db.withEngine(clock: try clockOptions.clock()) { engine in
            let account = try await engine.accountID(named: accountOptions.account)
            let reads = engine.erasureStore
            guard let person, !list else {
                let page = try await reads.deletions(account: account, limit: 500, before: nil)
                for d in page.items { printJSON(ChameleonJSON.deletion(d)) }
                return
            }
            let receipt: ErasureReceipt
            do {
                receipt = try await Erasure(store: engine.ingestStore, reads: reads).forget(account: account, person: person, source: .cli)
            } catch let error as ReadError {
                throw ValidationError(error.description)
            }
            // The erased bytes leave SQLite's log file when `withEngine` closes the engine, before this command ends.
            printJSON(ChameleonJSON.erasure(receipt))
        }
    }
}
