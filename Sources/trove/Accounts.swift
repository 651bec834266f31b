import ArgumentParser
import TroveCore

struct AccountsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "accounts", abstract: "Create, list and rotate accounts.", subcommands: [Create.self, List.self, Rotate.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create an account and print its credentials (shown once).")
        @OptionGroup var db: DatabaseOptions
        @Argument(help: "The account name.") var name: String
        @Flag(help: "Print the credentials as one JSON object.") var json = false

        func run() async throws {
            let credentials = try await db.withAccounts { try await $0.create(name: name) }
            printCredentials(credentials, json: json)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List accounts (no secrets: only their digests are stored).")
        @OptionGroup var db: DatabaseOptions
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let accounts = try await db.withAccounts { try await $0.list() }
            if json {
                printJSON(["accounts": .array(accounts.map { a in
                    ["name": .string(a.name), "site_id": .string(a.siteID), "created_at": .string(a.createdAt.iso8601),
                     "rotated_at": .string(a.rotatedAt?.iso8601)]
                })])
                return
            }
            print("NAME".padding(24) + "SITE ID".padding(34) + "CREATED")
            for a in accounts { print(a.name.padding(24) + a.siteID.padding(34) + a.createdAt.iso8601) }
        }
    }

    struct Rotate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Replace an account's credentials; the old ones stop working.")
        @OptionGroup var db: DatabaseOptions
        @Argument(help: "The account name.") var name: String
        @Flag(help: "Print the credentials as one JSON object.") var json = false
        @Flag(help: "Replace only the write key (Segment's tracking API); the other credentials stay.") var writeKey = false

        func run() async throws {
            if writeKey {
                let key = try await db.withAccounts { try await $0.rotateWriteKey(name: name) }
                if json {
                    printJSON(["account": .string(name), "write_key": .string(key)])
                } else {
                    print("account:        \(name)")
                    print("write_key:      \(key)")
                    print("It is shown once; only its SHA-256 digest is stored.")
                }
                return
            }
            let credentials = try await db.withAccounts { try await $0.rotate(name: name) }
            printCredentials(credentials, json: json)
        }
    }
}

func printCredentials(_ c: Credentials, json: Bool) {
    if json {
        printJSON(c.json)
    } else {
        print("account:        \(c.account)")
        print("account_secret: \(c.accountSecret)")
        print("app_api_key:    \(c.appAPIKey)")
        print("site_id:        \(c.siteID)")
        print("track_api_key:  \(c.trackAPIKey)")
        print("write_key:      \(c.writeKey)")
        print("These are shown once; only their SHA-256 digests are stored.")
    }
}

extension String {
    func padding(_ width: Int) -> String {
        count >= width ? self + " " : self + String(repeating: " ", count: width - count)
    }
}

extension Credentials {
    /// `{"account", "account_secret", "app_api_key", "site_id", "track_api_key", "write_key"}`, as `accounts create --json`
    /// and `serve` print them.
    var json: JSON {
        [
            "account": .string(account),
            "account_secret": .string(accountSecret),
            "app_api_key": .string(appAPIKey),
            "site_id": .string(siteID),
            "track_api_key": .string(trackAPIKey),
            "write_key": .string(writeKey),
        ]
    }
}
