import ArgumentParser
import Foundation
import TroveCore
import TroveServer

struct Segments: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List, create, evaluate and explain segments.", subcommands: [List.self, Create.self, Eval.self, Explain.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The account's segments with size and freshness.")
        @OptionGroup var db: DatabaseOptions
        @OptionGroup var accountOptions: AccountOptions
        @Flag(help: "One JSON object, as /v3/edit/segments returns it.") var json = false

        func run() async throws {
            let segments = try await db.withEngine { engine in
                let account = try await engine.accountID(named: accountOptions.account)
                return try await SegmentDefinitions(store: engine.segmentStore, clock: engine.clock).list(account: account)
            }
            if json { return printJSON(["segments": .array(segments.map(ChameleonJSON.segment))]) }
            print("id".padding(8) + "kind".padding(9) + "state".padding(10) + "members".padding(10) + "computed_at".padding(26) + "name")
            for s in segments {
                print(String(s.id).padding(8) + s.kind.rawValue.padding(9) + (s.isReady ? "ready" : "building").padding(10)
                    + String(s.memberCount).padding(10) + (s.computedAt?.iso8601 ?? "-").padding(26) + s.name)
            }
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a dynamic segment from Chameleon filter items and build its membership.",
            discussion: #"Example: trove segments create --name "Pro" --items '[{"prop":"plan","op":"eq","value":"pro"}]'"#)
        @OptionGroup var db: DatabaseOptions
        @OptionGroup var accountOptions: AccountOptions
        @OptionGroup var clockOptions: ClockOptions
        @Option(help: "The segment's name.") var name: String
        @Option(help: "A description.") var description: String = ""
        @Option(help: "The filter items, a JSON array of Chameleon items (docs/filters.md).") var items: String
        @Option(help: "and | or") var itemsOp: String = "and"
        @Flag(help: "Leave the build to a running server.") var noBuild = false

        func run() async throws {
            let parsed = try parseJSON(items, option: "--items")
            try await db.withEngine(clock: try clockOptions.clock()) { engine in try await create(engine, parsed) }
        }

        func create(_ engine: any TroveEngine, _ parsed: JSON) async throws {
            let account = try await engine.accountID(named: accountOptions.account)
            let store = SegmentDefinitions(store: engine.segmentStore, clock: engine.clock)
            let definition: ChameleonDefinition
            do {
                definition = try ChameleonDefinition(items: parsed, op: .string(itemsOp))
            } catch {
                throw ValidationError(error.description)
            }
            var segment = try await store.create(account: account, SegmentChange(name: name, description: description, definition: definition))
            if !noBuild {
                try await engine.membershipWork.catchUp()
                segment = try await store.get(account: account, id: segment.id)
            }
            printJSON(["segment": ChameleonJSON.segment(segment)])
        }
    }

    struct Eval: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Evaluate a segment's filter from scratch now (nothing is stored) and print the count and the time it took.")
        @OptionGroup var db: DatabaseOptions
        @OptionGroup var accountOptions: AccountOptions
        @OptionGroup var clockOptions: ClockOptions
        @Argument(help: "The segment id.") var id: String
        @Option(help: "Evaluate this many times (the first is cold).") var runs: Int = 1
        @Flag(help: "JSON output.") var json = false

        func run() async throws {
            guard let segment = PublicID.decode(id) else { throw ValidationError("\"\(id)\" is not a segment id") }
            let (count, timings) = try await db.withEngine(clock: try clockOptions.clock()) { engine in
                let account = try await engine.accountID(named: accountOptions.account)
                var timings: [Double] = []
                var count: Int64 = 0
                for _ in 0..<max(1, runs) {
                    let start = ContinuousClock.now
                    count = try await engine.audienceStore.evaluate(account: account, segment: segment)
                    let elapsed = ContinuousClock.now - start
                    timings.append(Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15)
                }
                return (count, timings)
            }
            if json {
                printJSON(["segment_id": .int(segment), "count": .int(count), "milliseconds": .array(timings.map(JSON.double))])
            } else {
                print("count \(count) in " + timings.map { String(format: "%.1f ms", $0) }.joined(separator: ", "))
            }
        }
    }

    struct Explain: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Why a profile is or is not in a segment, condition by condition.")
        @OptionGroup var db: DatabaseOptions
        @OptionGroup var accountOptions: AccountOptions
        @OptionGroup var clockOptions: ClockOptions
        @Argument(help: "The segment id.") var id: String
        @Option(help: "The profile's uid.") var uid: String

        func run() async throws {
            guard let segment = PublicID.decode(id) else { throw ValidationError("\"\(id)\" is not a segment id") }
            let explanation = try await db.withEngine(clock: try clockOptions.clock()) { engine in
                let account = try await engine.accountID(named: accountOptions.account)
                return try await engine.explainStore.explain(account: account, segment: segment, profile: .uid(uid))
            }
            printJSON(ChameleonJSON.explanation(explanation))
        }
    }
}

func parseJSON(_ text: String, option: String) throws -> JSON {
    do {
        return try JSONParser.parse(Array(text.utf8))
    } catch {
        throw ValidationError("\(option): not valid JSON (\(error))")
    }
}
