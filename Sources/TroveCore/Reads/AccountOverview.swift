/// The admin overview's headline figures for one account, from one read snapshot. Events are counted from
/// the event names' maintained totals (not a scan of the log).
public struct AccountOverview: Sendable, Equatable {
    public var profiles: Int64
    public var companies: Int64
    public var events: Int64
    public var eventNames: Int64
    public var segments: Int64
    public var warnings: Int64
}
