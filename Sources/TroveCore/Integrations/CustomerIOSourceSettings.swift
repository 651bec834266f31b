import Foundation

/// The Customer.io source's settings per account (contract §9): the webhook signing key, when set, makes
/// Trove verify `X-CIO-Signature` on every reporting webhook. The rows are the engine's `IntegrationStore`.
public struct CustomerIOSourceSettings: Sendable {
    public let store: any IntegrationStore
    public let clock: TroveClock

    public init(store: any IntegrationStore, clock: TroveClock = .system) {
        self.store = store
        self.clock = clock
    }

    /// What is shown of the settings: never the key, only whether one is set and its last four characters.
    public struct State: Sendable, Equatable {
        public var signingKeyHint: String?
        public var updatedAt: Timestamp?
        public var signingKeySet: Bool { signingKeyHint != nil }

        public init(signingKey: String?, updatedAt: Timestamp?) {
            self.signingKeyHint = signingKey.map { "…" + String($0.suffix(4)) }
            self.updatedAt = updatedAt
        }
    }

    /// Sets (or with nil, removes) the signing key; returns the settings as the API shows them.
    public func setSigningKey(account: Int64, _ key: String?) async throws -> State {
        if let key {
            guard !key.isEmpty, key.utf8.count <= 256 else { throw IngestError.invalid("signing_key: must be a non-empty string of at most 256 bytes") }
        }
        return try await store.saveSourceSigningKey(account: account, key, now: clock.now())
    }

    public func show(account: Int64) async throws -> State {
        try await store.sourceState(account: account)
    }

    public func signingKey(account: Int64) async throws -> String? {
        try await store.sourceSigningKey(account: account)
    }
}
