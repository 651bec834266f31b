import Foundation

/// `POST /v3/edit/segments/:id/import_from_customerio {customerio_segment_id, app_api_key, api_url?}`
/// (contract §10): pages `GET {api_url}/v1/segments/{id}/membership` with the App API key and makes the Trove
/// manual segment's members exactly the people found (by `id` as uid, else by email; others are counted
/// as unmatched). Every page is read before anything changes, so a failure half-way changes nothing.
/// Works against Trove's own `/v1` too.
public struct CustomerIOSegmentImport: Sendable {
    public let membership: any ManualMembershipStore
    public let policy: WebhookAddressPolicy

    public static let defaultAPIURL = "https://api.customer.io"
    public static let pageSize = 1000
    /// A bound on the pages one pull reads (10M people).
    public static let maxPages = 10_000

    public init(membership: any ManualMembershipStore, policy: WebhookAddressPolicy) {
        self.membership = membership
        self.policy = policy
    }

    /// What to pull: the Customer.io segment (its id as text), the App API key to read it with, and the
    /// API's base URL (nil: Customer.io's US one).
    public struct Request: Sendable {
        public var customerIOSegmentID: String
        public var appAPIKey: String
        public var apiURL: String?

        public init(customerIOSegmentID: String, appAPIKey: String, apiURL: String? = nil) {
            self.customerIOSegmentID = customerIOSegmentID
            self.appAPIKey = appAPIKey
            self.apiURL = apiURL
        }
    }

    /// What a pull found and changed.
    public struct Result: Sendable, Equatable {
        public var customerIOSegmentID: String
        public var pages: Int
        public var people: Int
        public var matched: Int
        public var unmatched: Int
        public var added: Int
        public var removed: Int
    }

    public func run(account: Int64, segment: Int64, _ request: Request, transport: any OutgoingTransport) async throws -> Result {
        let remote = request.customerIOSegmentID
        guard !remote.isEmpty, remote.utf8.count <= 64, remote.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }) else {
            throw DestinationError.invalid("customerio_segment_id: required, the id of the Customer.io segment")
        }
        let key = request.appAPIKey
        guard !key.isEmpty, key.utf8.count <= 256 else { throw DestinationError.invalid("app_api_key: required, a Customer.io App API key") }
        var base = Self.defaultAPIURL
        if let s = request.apiURL {
            guard let u = URL(string: s), ["http", "https"].contains(u.scheme ?? ""), u.host != nil, u.query == nil else {
                throw DestinationError.invalid("api_url: must be an http(s) URL such as https://api-eu.customer.io")
            }
            base = s.hasSuffix("/") ? String(s.dropLast()) : s
        }
        do { _ = try policy.check(url: base) } catch { throw DestinationError.invalid("api_url: \(error)") }
        // The target must be a manual segment before any call goes out.
        _ = try await membership.manualSegment(account: account, id: segment)

        var start = ""
        var pages = 0
        var seen = 0
        var matched = Set<Int64>()
        var unmatched = 0
        repeat {
            let page = try await fetch(base: base, segment: remote, key: key, start: start, transport: transport)
            pages += 1
            seen += page.people.count
            let found = try await membership.profileIDs(account: account, page.people.map { (uid: $0.id, email: $0.email) })
            for id in found {
                if let id { matched.insert(id) } else { unmatched += 1 }
            }
            guard page.next != start || page.next.isEmpty else { throw DestinationError.upstream("Customer.io returned the same page cursor twice") }
            start = page.next
            if pages >= Self.maxPages && !start.isEmpty { throw DestinationError.upstream("more than \(Self.maxPages) pages; nothing was changed") }
        } while !start.isEmpty
        let change = try await membership.replace(account: account, segment: segment, profiles: matched)
        return Result(customerIOSegmentID: remote, pages: pages, people: seen, matched: matched.count, unmatched: unmatched,
                      added: change.added, removed: change.removed)
    }

    struct Page {
        var people: [(id: String?, email: String?)]
        var next: String
    }

    func fetch(base: String, segment: String, key: String, start: String, transport: any OutgoingTransport) async throws -> Page {
        var components = URLComponents(string: base + "/v1/segments/\(segment)/membership")!
        components.queryItems = [URLQueryItem(name: "limit", value: String(Self.pageSize))] + (start.isEmpty ? [] : [URLQueryItem(name: "start", value: start)])
        let url: CheckedURL
        do { url = try await policy.checkResolved(url: components.string!) } catch { throw DestinationError.invalid("api_url: \(error)") }
        let reply: OutgoingReply
        do {
            reply = try await transport.send(OutgoingRequest(
                method: "GET", to: url, headers: [("Authorization", "Bearer \(key)"), ("Accept", "application/json"), ("User-Agent", CustomerIODeliverer.userAgent)],
                body: [], timeout: .seconds(30)))
        } catch {
            throw DestinationError.upstream("Customer.io could not be reached at \(base): \(error); nothing was changed")
        }
        switch reply.status {
        case 200..<300: break
        case 401, 403: throw DestinationError.invalid("app_api_key: Customer.io refused it (HTTP \(reply.status)); nothing was changed")
        case 404: throw DestinationError.invalid("customerio_segment_id: Customer.io has no segment \(segment) (HTTP 404); nothing was changed")
        default: throw DestinationError.upstream("Customer.io answered HTTP \(reply.status): \(reply.bodyExcerpt); nothing was changed")
        }
        guard let json = try? JSONParser.parse(reply.body), case .object = json else {
            throw DestinationError.upstream("Customer.io's membership page is not a JSON object; nothing was changed")
        }
        var people: [(id: String?, email: String?)] = []
        if case .array(let identifiers)? = json["identifiers"] {
            for i in identifiers {
                people.append((Self.text(i["id"]), Self.text(i["email"])))
            }
        } else if case .array(let ids)? = json["ids"] {
            people = ids.map { (Self.text($0), nil) }
        } else {
            throw DestinationError.upstream("Customer.io's membership page has neither identifiers nor ids; nothing was changed")
        }
        let next: String
        switch json["next"] {
        case .string(let s)?: next = s
        case .int(let n)?: next = String(n)
        default: next = ""
        }
        return Page(people: people, next: next)
    }

    static func text(_ value: JSON?) -> String? {
        switch value {
        case .string(let s)? where !s.isEmpty: return s
        case .int(let n)?: return String(n)
        default: return nil
        }
    }
}
