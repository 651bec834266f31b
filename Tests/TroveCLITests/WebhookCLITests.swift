import Foundation
import Testing
import TroveBench

/// `trove webhooks verify` (contract §10) on a body and signature computed independently (Python's `hmac`).
@Suite struct WebhookCLITests {
    func verify(_ arguments: [String], body: String) throws -> (Int32, String) {
        let ran = try ChildProcess.run(try troveExecutable(), ["webhooks", "verify"] + arguments, input: body)
        return (ran.status, ran.output + ran.errors)
    }

    @Test func acceptsAFreshSignedBodyAndRefusesTheRest() throws {
        let body = #"{"id":"evt_1","kind":"ping","sent_at":"2026-03-01T12:00:00.000Z","data":{}}"#
        let signature = "d2c26689354bc4d2fb6c5b9da7f415c30e411e503c707f3b798bdc271f1ec9df"
        let ok = try verify(["--secret", "whsec_chameleon", "--signature", signature, "--now", "2026-03-01T12:04:00Z"], body: body)
        #expect(ok.0 == 0 && ok.1.contains("valid: delivery evt_1"), "\(ok.1)")
        let stale = try verify(["--secret", "whsec_chameleon", "--signature", signature, "--now", "2026-03-01T12:06:00Z"], body: body)
        #expect(stale.0 == 1 && stale.1.contains("more than 5 minutes"), "\(stale.1)")
        let altered = try verify(["--secret", "whsec_chameleon", "--signature", signature, "--now", "2026-03-01T12:00:00Z"], body: body + " ")
        #expect(altered.0 == 1 && altered.1.contains("does not match"), "\(altered.1)")
    }
}
