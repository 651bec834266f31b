import ArgumentParser
import Foundation
import TroveCore

struct Integrations: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Settings of the integrations with other systems.", subcommands: [CustomerIOSource.self])

    struct CustomerIOSource: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "customerio-source",
            abstract: "Customer.io reporting webhooks: set the signing key Trove checks X-CIO-Signature with, or clear it.")

        @OptionGroup var db: DatabaseOptions
        @OptionGroup var accountOptions: AccountOptions

        @Option(help: "The webhook signing key from Customer.io (Workspace settings → Reporting webhooks).")
        var signingKey: String?

        @Flag(help: "Stop checking signatures.")
        var clear = false

        func validate() throws {
            guard (signingKey == nil) != !clear else { throw ValidationError("give either --signing-key KEY or --clear") }
        }

        func run() async throws {
            do {
                let state = try await db.withEngine { engine in
                    let account = try await engine.accountID(named: accountOptions.account)
                    return try await CustomerIOSourceSettings(store: engine.integrationStore, clock: engine.clock).setSigningKey(account: account, clear ? nil : signingKey)
                }
                print(state.signingKeyHint.map { "signatures checked with the key ending \($0.dropFirst())" } ?? "signatures not checked")
            } catch let e as IngestError {
                throw ValidationError(e.description)
            }
        }
    }
}
