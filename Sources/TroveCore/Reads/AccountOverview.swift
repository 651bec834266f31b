/// The admin overview's headline figures for one account, from one read snapshot. Events are counted from
/// the event names' maintained totals (not a scan of the log).
public struct AccountOverview: Sendable, Equatable {
    public var profiles: Int64
    public var companies: Int64
    public var events: Int64
    public var eventNames: Int64
    public var segments: Int64
    public var warnings: Int64

    public init(profiles: Int64, companies: Int64, events: Int64, eventNames: Int64, segments: Int64, warnings: Int64) {
        self.profiles = profiles
        self.companies = companies
        self.events = events
        self.eventNames = eventNames
        self.segments = segments
        self.warnings = warnings
    }
}
