import ArgumentParser
import Foundation
import TroveCore

struct Webhooks: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Outgoing webhooks.", subcommands: [Verify.self])

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check a received webhook: X-Chameleon-Signature over the exact body bytes, and sent_at within 5 minutes.")

        @Option(help: "The endpoint's secret.") var secret: String
        @Option(help: "The X-Chameleon-Signature header.") var signature: String
        @Option(help: "The body as received (default: standard input).") var bodyFile: String?
        @OptionGroup var clockOptions: ClockOptions

        func run() async throws {
            let body: [UInt8]
            if let bodyFile {
                guard let data = FileManager.default.contents(atPath: bodyFile) else { throw ValidationError("--body-file: cannot read \(bodyFile)") }
                body = Array(data)
            } else {
                body = Array(FileHandle.standardInput.readDataToEndOfFile())
            }
            do {
                let id = try WebhookSignature.verify(body: body, signature: signature, secret: secret, now: try clockOptions.clock().now())
                print("valid: delivery \(id ?? "(no id)")")
            } catch {
                FileHandle.standardError.write(Data("invalid: \(error)\n".utf8))
                throw ExitCode(1)
            }
        }
    }
}
