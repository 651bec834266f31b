import Crypto

/// The capabilities that change data, as the seam an engine implements: typed in and out, async. The rules
/// (what a value may be, what a request means) sit above, in the capability's own type, and reach the
/// rows only through these; a second engine implements the same protocols and no rule changes. The SQLite
/// engine's implementations are in `SQLite/`.

/// Webhook endpoints and their outbox rows (contract §10), under `Webhooks`. Every call is scoped to the
/// account and throws `WebhookError.notFound` for an endpoint it does not hold.
public protocol WebhookStore: Sendable {
    /// `change` is checked and complete (`url`, `topics`); the reply shows the secret.
    func insert(account: Int64, _ change: WebhookEndpointChange, secret: String, now: Timestamp) async throws -> WebhookEndpoint
    func endpoints(account: Int64) async throws -> [WebhookEndpoint]
    func endpoint(account: Int64, id: Int64) async throws -> WebhookEndpoint
    /// Sets what `change` names; nil leaves a field as it is.
    func update(account: Int64, id: Int64, _ change: WebhookEndpointChange, now: Timestamp) async throws -> WebhookEndpoint
    /// The reply shows the new secret.
    func replaceSecret(account: Int64, id: Int64, secret: String, now: Timestamp) async throws -> WebhookEndpoint
    func delete(account: Int64, id: Int64) async throws
    /// A delivery due now.
    func enqueue(account: Int64, endpoint: Int64, kind: String, data: JSON, now: Timestamp) async throws -> WebhookDelivery
    /// Newest first.
    func deliveries(account: Int64, endpoint: Int64, limit: Int) async throws -> [WebhookDelivery]
    /// A delivery not yet delivered is due again now with no attempts counted.
    func resetDelivery(account: Int64, endpoint: Int64, delivery: Int64, now: Timestamp) async throws -> WebhookDelivery

    // The sender's side (`WebhookDeliverer`), across accounts.

    /// Each enabled endpoint's earliest due deliveries, at most `room(endpoint)` of them (none when it is 0
    /// or less), so a backlog at one endpoint never hides another's. Where several processes share the
    /// engine, each row returned is claimed for this one until its attempt is recorded or it is released.
    func due(now: Timestamp, room: @escaping @Sendable (Int64) -> Int) async throws -> [WebhookDue]
    /// Hands back deliveries `due` returned that will not be sent now (their claims end).
    func release(_ deliveries: [WebhookDue]) async throws
    /// Records an attempt on a pending delivery and on its endpoint: delivered when `failure` is nil, else
    /// retrying at `retryAt`, or failed when that is nil.
    func recordAttempt(_ delivery: WebhookDue, attempts: Int, status: Int?, failure: String?, retryAt: Timestamp?, now: Timestamp) async throws
}

extension WebhookStore {
    /// One process owns the engine: nothing is claimed, nothing to hand back.
    public func release(_ deliveries: [WebhookDue]) async throws {}
}

/// A delivery due to be sent, with what signing and sending it takes.
public struct WebhookDue: Sendable {
    public var id: Int64
    public var account: Int64
    public var endpoint: Int64
    public var url: String
    public var secret: String
    public var envelopeID: String
    public var kind: String
    /// The payload as stored.
    public var storedData: String
    public var attempts: Int

    public init(id: Int64, account: Int64, endpoint: Int64, url: String, secret: String, envelopeID: String, kind: String, storedData: String, attempts: Int) {
        self.id = id
        self.account = account
        self.endpoint = endpoint
        self.url = url
        self.secret = secret
        self.envelopeID = envelopeID
        self.kind = kind
        self.storedData = storedData
        self.attempts = attempts
    }

    /// The payload; one that does not parse fails the delivery with that reason, never sent as null.
    func data() throws(StoredDataError) -> JSON { try StoredJSON.parse(storedData, "webhook_deliveries", "data", id: id) }
}

/// Segment definitions (contract §6), under `SegmentDefinitions`. A definition is checked against the
/// account's other segments where it is written (one it names must exist; none may use itself), and a
/// segment that is not there is `SegmentError.notFound`.
public protocol SegmentStore: Sendable {
    func insert(account: Int64, _ segment: NewSegment, now: Timestamp) async throws -> Segment
    /// In one transaction: `decide` sees the segment as it is and says what to change (or throws); a new
    /// definition makes a new version of it and of the segments that use it.
    func update(account: Int64, id: Int64, now: Timestamp,
                _ decide: @escaping @Sendable (Segment) throws(SegmentError) -> SegmentChange) async throws -> Segment
    /// Deletes the segment unless others use it; returns those (then nothing is deleted).
    func delete(account: Int64, id: Int64, now: Timestamp) async throws -> [Segment]
    func segment(account: Int64, id: Int64) async throws -> Segment
    func segments(account: Int64) async throws -> [Segment]
}

/// Export jobs (contract §7), under `ExportJobs`. `ExportError.notFound` for a job the account does not hold.
public protocol ExportStore: Sendable {
    /// A pending job; a filter is checked where it is written (`SegmentError` when it names a segment that
    /// is not there).
    func insert(account: Int64, _ job: NewExport, now: Timestamp) async throws -> Export
    func export(account: Int64, id: Int64) async throws -> Export
    /// Newest first.
    func exports(account: Int64) async throws -> [Export]
    /// Whichever account's job a signed link names.
    func linkedExport(id: Int64) async throws -> Export
    func countDownload(account: Int64, id: Int64) async throws
    /// The installation's key for download links, made on first use and kept.
    func downloadLinkKey() async throws -> SymmetricKey
    /// A customers file written from one snapshot (`trove export`); rows and bytes.
    func writeCustomers(account: Int64, _ export: CustomerExport, now: Timestamp, to path: String, formulas: FormulaCells,
                        progress: CustomerExport.Progress?) async throws -> (rows: Int64, bytes: Int64)
    /// A done job's file as the engine keeps it (PostgreSQL: in the database, for every node to serve); nil
    /// when it is only in the exports folder (SQLite).
    func storedFile(account: Int64, id: Int64) async throws -> ExportFile?
}

extension ExportStore {
    public func storedFile(account: Int64, id: Int64) async throws -> ExportFile? { nil }
}

/// An export's file where a download finds it.
public enum ExportFile: Sendable {
    /// In the exports folder of this machine.
    case path(String)
    /// Kept by the engine in `parts` pieces, read one at a time in order; `bytes` in all.
    case stored(bytes: Int64, parts: Int, read: @Sendable (Int) async throws -> [UInt8])
}

/// The integrations' settings per account (contract §9, §10) and the Customer.io outbox as its API shows
/// it, under `CustomerIODestinationSettings` and `CustomerIOSourceSettings`. A stored setting that does not
/// parse is a `StoredDataError`, never "not set up".
public protocol IntegrationStore: Sendable {
    /// In one transaction: `make` sees the current destination (nil when none) and returns the new one;
    /// every segment it syncs must exist (`DestinationError.invalid`).
    func saveDestination(account: Int64, now: Timestamp,
                         _ make: @escaping @Sendable (CustomerIODestination?) throws -> CustomerIODestination) async throws -> CustomerIODestinationSettings.State
    /// `DestinationError.notFound` when none is set up.
    func destinationState(account: Int64) async throws -> CustomerIODestinationSettings.State
    /// Removes the destination; deliveries still pending fail with "destination removed".
    func deleteDestination(account: Int64, now: Timestamp) async throws
    /// Newest first.
    func destinationDeliveries(account: Int64, state: WebhookDelivery.State?, limit: Int) async throws -> [CustomerIODelivery]
    /// A failed delivery that has someone to send to is due again now, its attempts and age reset.
    func retryDestinationDelivery(account: Int64, delivery: Int64, now: Timestamp) async throws -> CustomerIODelivery
    /// Sets the source's signing key, or removes it with nil.
    func saveSourceSigningKey(account: Int64, _ key: String?, now: Timestamp) async throws -> CustomerIOSourceSettings.State
    func sourceState(account: Int64) async throws -> CustomerIOSourceSettings.State
    func sourceSigningKey(account: Int64) async throws -> String?

    // The Customer.io sender's side (`CustomerIODeliverer`), across accounts.

    /// Every usable destination, and for each account `open` lets through its earliest due rows (at most
    /// `limit`), each the head of its profile's queue (nothing earlier of that profile still pending). A
    /// destination whose stored settings do not parse is left out: its rows wait.
    func dueCustomerIO(now: Timestamp, limit: Int, open: @escaping @Sendable (Int64) -> Bool) async throws
        -> (rows: [CustomerIOQueued], destinations: [Int64: CustomerIODestination])
    /// Records attempts on pending rows: delivered when `error` is nil, else retrying at `retryAt`, or
    /// failed when that is nil.
    func recordCustomerIO(_ attempts: [CustomerIOAttempt], now: Timestamp) async throws
}

/// A row of the Customer.io outbox due to be sent.
public struct CustomerIOQueued: Sendable {
    public var id: Int64, account: Int64, profile: Int64, kind: String, identifier: String, target: String?, body: String?
    public var attempts: Int, createdAt: Int64

    public init(id: Int64, account: Int64, profile: Int64, kind: String, identifier: String, target: String?, body: String?, attempts: Int, createdAt: Int64) {
        self.id = id
        self.account = account
        self.profile = profile
        self.kind = kind
        self.identifier = identifier
        self.target = target
        self.body = body
        self.attempts = attempts
        self.createdAt = createdAt
    }
}

/// What one attempt made of an outbox row.
public struct CustomerIOAttempt: Sendable {
    public var id: Int64
    public var account: Int64
    public var attempts: Int
    public var status: Int?
    public var error: String?
    public var retryAt: Timestamp?

    /// As the delivery metrics name it.
    var outcome: String { error == nil ? "delivered" : retryAt == nil ? "failed" : "retrying" }
}

/// Accounts and admin sessions (contract §1, §11), under `Accounts` and `AdminSessions`. Secrets arrive
/// and are found as digests only.
public protocol AccountStore: Sendable {
    /// False, and nothing written, when the name is taken (or with `onlyIfNone`, when any account exists).
    func insert(_ credentials: CredentialDigests, onlyIfNone: Bool, now: Timestamp) async throws -> Bool
    /// Replaces the named account's credentials and ends its admin sessions; false when there is no such account.
    func replace(_ credentials: CredentialDigests, now: Timestamp) async throws -> Bool
    /// Replaces one credential of the named account; false when there is no such account.
    func replace(_ credential: CredentialKind, of account: String, digest: [UInt8], now: Timestamp) async throws -> Bool
    /// In id order.
    func summaries() async throws -> [AccountSummary]
    func accountID(named name: String) async throws -> Int64?
    /// The account holding this digest, with the digest as stored (for a constant-time comparison).
    func account(_ credential: CredentialKind, digest: [UInt8]) async throws -> (id: Int64, digest: [UInt8])?
    /// The account with this site id and its track API key's digest.
    func trackKey(siteID: String) async throws -> (id: Int64, digest: [UInt8])?
    /// Opens a session (dropping expired ones); returns the account's name.
    func openSession(tokenDigest: [UInt8], account: Int64, csrfToken: String, now: Timestamp, expires: Timestamp) async throws -> String
    /// The account's live session with this token, or nil.
    func session(account: Int64, tokenDigest: [UInt8], now: Timestamp) async throws -> AdminSessions.Session?
    func closeSession(account: Int64, tokenDigest: [UInt8]) async throws
}
