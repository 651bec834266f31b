import ArgumentParser

@main
struct Trove: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trove",
        abstract: "Trove: a self-hosted customer-data warehouse in one binary and one SQLite file.",
        subcommands: [Serve.self, Migrate.self, AccountsCommand.self, Import.self, Export.self, Integrations.self, Segments.self, Webhooks.self, Report.self, Events.self, Forget.self, Backup.self, Check.self, Copy.self, Generate.self, Bench.self, OpenAPI.self])
}
