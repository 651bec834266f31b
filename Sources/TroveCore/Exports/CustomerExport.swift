/// `POST /v1/exports/customers` (contract §7): the profiles matching a Customer.io filter, one CSV row each,
/// header `id,email,cio_id,<attributes in request order>`.
public struct CustomerExport: Sendable {
    /// The filter (nil: every enabled profile of the account).
    var filter: FilterNode? = nil
    /// The attributes as requested (the header) and where each one's value comes from.
    var attributes: [(name: String, owner: PropertyOwner, path: PropertyPath)]

    static let maxAttributes = 300

    /// Checks a request: the filter in Customer.io's grammar, and each attribute name a property path
    /// (`company.` for the company's).
    init(_ request: CustomerExportRequest) throws(ExportError) {
        if let filters = request.filters, filters != .null {
            do { filter = try CustomerIOFilter.parse(filters) } catch { throw .invalid(error.description) }
        }
        guard request.attributes.count <= Self.maxAttributes else { throw .invalid("attributes: at most \(Self.maxAttributes) names") }
        attributes = []
        for (i, text) in request.attributes.enumerated() {
            guard !text.isEmpty else { throw .invalid("attributes[\(i)]: must be a non-empty string") }
            do {
                let (owner, keys) = try FilterValues.propertyPath(text, path: "attributes[\(i)]", owner: .profile, allowCompany: true)
                attributes.append((text, owner, keys))
            } catch { throw .invalid(error.description) }
        }
    }
}
