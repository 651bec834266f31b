/// `POST /v1/exports/deliveries` (contract §7): the message activity Customer.io reported (§9) for one
/// campaign, newsletter, action or transactional message, one CSV row per reported metric, oldest first,
/// with the customer's attributes asked for.
public struct DeliveryExport: Sendable {
    /// Which message: `campaign_id`, `newsletter_id`, `action_id` or `transactional_message_id`.
    var message: (field: String, id: Int64)
    var start: Timestamp?
    var end: Timestamp?
    var metric: String?
    /// Whether `drafted` rows are included.
    var drafts: Bool
    var customer: CustomerExport

    static let messageFields = ["campaign_id", "newsletter_id", "action_id", "transactional_message_id"]
    /// The activity columns, each a property of the stored event (contract §9), then `timestamp`.
    static let activityColumns = ["delivery_id", "object_type", "metric", "campaign_id", "newsletter_id", "action_id", "broadcast_id",
                                  "transactional_message_id", "journey_id", "subject", "recipient", "href", "failure_message"]

    /// Checks a request.
    init(_ request: DeliveryExportRequest) throws(ExportError) {
        guard Self.messageFields.contains(request.messageField) else {
            throw .invalid("exactly one of campaign_id, newsletter_id, action_id, transactional_message_id is required")
        }
        if let start = request.start, let end = request.end, end <= start { throw .invalid("end: must be after start") }
        if let metric = request.metric, metric.isEmpty { throw .invalid("metric: must be a metric name such as \"opened\"") }
        message = (request.messageField, request.messageID)
        start = request.start
        end = request.end
        metric = request.metric
        drafts = request.drafts
        customer = try CustomerExport(CustomerExportRequest(attributes: request.attributes))
    }
}
