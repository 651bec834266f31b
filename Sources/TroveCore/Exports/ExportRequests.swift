/// What a customers export asks for (contract §7): the profiles matching a filter in Customer.io's grammar
/// (its document as given; nil for everyone), with attribute columns in order.
public struct CustomerExportRequest: Sendable {
    public var filters: JSON?
    public var attributes: [String]
    /// Shown in the list; made up from the request when nil.
    public var description: String?

    public init(filters: JSON? = nil, attributes: [String] = [], description: String? = nil) {
        self.filters = filters
        self.attributes = attributes
        self.description = description
    }

    /// As kept in `exports.request` for the runner.
    var stored: JSON {
        var members: [JSONMember] = []
        if let filters, filters != .null { members.append(JSONMember("filters", filters)) }
        members.append(JSONMember("attributes", .array(attributes.map(JSON.string))))
        return .object(members)
    }

    init(stored: JSON, id: Int64) throws(StoredDataError) {
        guard case .object = stored, case .array(let names)? = stored["attributes"] ?? .array([]) else {
            throw StoredDataError(table: "exports", column: "request", id: id, reason: "not {filters, attributes}")
        }
        self.init(filters: stored["filters"], attributes: names.compactMap(\.stringValue))
    }
}

/// What a deliveries export asks for (contract §7): one message's reported activity, in a time range, of one
/// metric or all, with the customer's attribute columns.
public struct DeliveryExportRequest: Sendable {
    /// `campaign_id`, `newsletter_id`, `action_id` or `transactional_message_id`.
    public var messageField: String
    public var messageID: Int64
    public var start: Timestamp?
    public var end: Timestamp?
    public var metric: String?
    public var drafts: Bool
    public var attributes: [String]
    public var description: String?

    public init(messageField: String, messageID: Int64, start: Timestamp? = nil, end: Timestamp? = nil, metric: String? = nil,
                drafts: Bool = false, attributes: [String] = [], description: String? = nil) {
        self.messageField = messageField
        self.messageID = messageID
        self.start = start
        self.end = end
        self.metric = metric
        self.drafts = drafts
        self.attributes = attributes
        self.description = description
    }

    /// The fields that name a message.
    public static let messageFields = DeliveryExport.messageFields

    var stored: JSON {
        var members = [JSONMember(messageField, .int(messageID))]
        if let start { members.append(JSONMember("start", .int(start.seconds))) }
        if let end { members.append(JSONMember("end", .int(end.seconds))) }
        if let metric { members.append(JSONMember("metric", .string(metric))) }
        members.append(JSONMember("drafts", .bool(drafts)))
        members.append(JSONMember("attributes", .array(attributes.map(JSON.string))))
        return .object(members)
    }

    init(stored: JSON, id: Int64) throws(StoredDataError) {
        guard let field = DeliveryExport.messageFields.first(where: { stored[$0] != nil }), case .int(let message)? = stored[field] else {
            throw StoredDataError(table: "exports", column: "request", id: id, reason: "no message id")
        }
        func seconds(_ key: String) -> Timestamp? {
            if case .int(let n)? = stored[key] { return Timestamp(seconds: n) }
            return nil
        }
        self.init(messageField: field, messageID: message, start: seconds("start"), end: seconds("end"), metric: stored["metric"]?.stringValue,
                  drafts: stored["drafts"] == .bool(true), attributes: stored["attributes"]?.arrayValue?.compactMap(\.stringValue) ?? [])
    }
}
