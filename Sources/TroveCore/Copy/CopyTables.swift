/// The tables `trove copy` moves between engines, in an order that satisfies their foreign keys, each in
/// its engine-neutral shape: PostgreSQL's (every per-account table leads with `account_id`). An engine's
/// `CopyStore` maps its own tables to and from this shape (SQLite derives `account_id` where its tables do
/// not carry it). The schema tests hold both engines' catalogs to this list.
public struct CopyTable: Sendable, Hashable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        case integer, boolean, text, json, blob
    }

    public struct Column: Sendable, Hashable {
        public let name: String
        public let kind: Kind
    }

    public let name: String
    /// Every column, `account_id` first on a per-account table.
    public let columns: [Column]
    /// The primary key after `account_id` (the whole key on a table of the server's own), the copy's order.
    public let key: [String]
    /// Whether rows belong to an account (`account_id` leads); false for `accounts` and `server_keys`.
    public let perAccount: Bool

    public var description: String { name }
    public var columnNames: [String] { columns.map(\.name) }
    /// Where the key columns sit in a row.
    public var keyIndexes: [Int] { key.map { k in columns.firstIndex { $0.name == k }! } }

    init(_ name: String, key: [String], perAccount: Bool = true, _ columns: [(String, Kind)]) {
        self.name = name
        self.key = key
        self.perAccount = perAccount
        self.columns = (perAccount ? [Column(name: "account_id", kind: .integer)] : []) + columns.map { Column(name: $0.0, kind: $0.1) }
    }

    public static func named(_ name: String) -> CopyTable? { all.first { $0.name == name } }

    /// Tables that hold no data of their own, only what an engine derives and rebuilds (not copied):
    /// SQLite's rollup watermarks (PostgreSQL counts in each write and reads activity from the events) and
    /// daily counts (`event_counts_daily`, which triggers keep as the hourly ones are copied in), the
    /// funnel step lists (built again on first use), the latest times per event name (`event_recency`, built
    /// by the evaluator after the names' indexes) and PostgreSQL's ingest rows of count deltas and marks
    /// (folded into `event_counts` by the ingest store's catch-up and into `membership_dirty` by the
    /// evaluator's, both before a copy reads them).
    public static let derived: Set<String> = [
        "event_rollups", "event_counts_daily", "report_steps", "report_step_profiles", "report_step_values", "report_step_events", "membership_marks", "event_count_deltas",
        "event_recency", "event_recency_names",
    ]

    public static let all: [CopyTable] = [
        CopyTable("accounts", key: ["id"], perAccount: false, [
            ("id", .integer), ("name", .text), ("account_secret_hash", .blob), ("app_api_key_hash", .blob), ("site_id", .text),
            ("track_api_key_hash", .blob), ("created_at", .integer), ("rotated_at", .integer), ("write_key_hash", .blob),
        ]),
        CopyTable("server_keys", key: ["name"], perAccount: false, [("name", .text), ("key", .blob)]),
        CopyTable("companies", key: ["id"], [
            ("id", .integer), ("uid", .text), ("created_at", .integer), ("updated_at", .integer), ("properties", .json),
        ]),
        CopyTable("profiles", key: ["id"], [
            ("id", .integer), ("uid", .text), ("email", .text), ("company_id", .integer), ("disabled", .boolean), ("admin", .boolean),
            ("created_at", .integer), ("updated_at", .integer), ("properties", .json),
        ]),
        CopyTable("profile_activity", key: ["profile_id"], [
            ("profile_id", .integer), ("last_seen_at", .integer), ("head_event_id", .integer), ("late_head_id", .integer),
        ]),
        CopyTable("event_names", key: ["id"], [
            ("id", .integer), ("uid", .text), ("name", .text), ("count", .integer), ("last_seen_at", .integer),
        ]),
        CopyTable("events", key: ["id"], [
            ("id", .integer), ("profile_id", .integer), ("name_id", .integer), ("timestamp", .integer), ("received_at", .integer),
            ("source", .integer), ("dedupe_key", .text), ("display_name", .text), ("properties", .json), ("prev_id", .integer),
        ]),
        CopyTable("anonymous_events", key: ["id"], [
            ("id", .integer), ("anonymous_id", .text), ("name_id", .integer), ("timestamp", .integer), ("received_at", .integer),
            ("dedupe_key", .text), ("display_name", .text), ("properties", .json),
        ]),
        CopyTable("event_counts", key: ["name_id", "hour"], [("name_id", .integer), ("hour", .integer), ("count", .integer)]),
        CopyTable("properties", key: ["id"], [
            ("id", .integer), ("model", .text), ("prop", .text), ("name", .text), ("types", .json), ("examples", .json),
            ("last_seen_at", .integer),
        ]),
        CopyTable("warnings", key: ["id"], [
            ("id", .integer), ("model", .text), ("prop", .text), ("kind", .text), ("count", .integer), ("first_at", .integer),
            ("last_at", .integer), ("example_uid", .text), ("detail", .text),
        ]),
        CopyTable("idempotency_keys", key: ["key"], [
            ("key", .text), ("route", .text), ("status", .integer), ("response", .blob), ("created_at", .integer),
        ]),
        CopyTable("segments", key: ["id"], [
            ("id", .integer), ("name", .text), ("description", .text), ("kind", .text), ("grammar", .text), ("definition", .json),
            ("tags", .json), ("version", .integer), ("built_version", .integer), ("windowed", .boolean), ("member_count", .integer),
            ("computed_at", .integer), ("refreshed_at", .integer), ("created_at", .integer), ("updated_at", .integer),
        ]),
        CopyTable("segment_members", key: ["segment_id", "profile_id"], [("segment_id", .integer), ("profile_id", .integer)]),
        CopyTable("segment_changes", key: ["id"], [
            ("id", .integer), ("segment_id", .integer), ("profile_id", .integer), ("entered", .boolean), ("at", .integer),
            ("version", .integer),
        ]),
        CopyTable("membership_dirty", key: ["kind", "object_id"], [("kind", .integer), ("object_id", .integer), ("marked_at", .integer)]),
        CopyTable("exports", key: ["id"], [
            ("id", .integer), ("type", .text), ("request", .json), ("description", .text), ("status", .text), ("total", .integer),
            ("downloads", .integer), ("attempts", .integer), ("error", .text), ("file_bytes", .integer), ("created_at", .integer),
            ("updated_at", .integer), ("finished_at", .integer), ("expires_at", .integer), ("removed_at", .integer),
        ]),
        CopyTable("integrations", key: ["name"], [("name", .text), ("config", .json), ("updated_at", .integer)]),
        CopyTable("webhook_endpoints", key: ["id"], [
            ("id", .integer), ("url", .text), ("name", .text), ("topics", .json), ("event_names", .json), ("secret", .text),
            ("enabled", .boolean), ("created_at", .integer), ("updated_at", .integer), ("last_item_at", .integer),
            ("last_item_state", .text), ("last_item_error", .text),
        ]),
        CopyTable("webhook_deliveries", key: ["id"], [
            ("id", .integer), ("endpoint_id", .integer), ("envelope_id", .text), ("kind", .text), ("data", .json), ("state", .text),
            ("attempts", .integer), ("next_attempt_at", .integer), ("last_status", .integer), ("last_error", .text),
            ("created_at", .integer), ("delivered_at", .integer), ("deletion_id", .integer),
        ]),
        CopyTable("customerio_deliveries", key: ["id"], [
            ("id", .integer), ("profile_id", .integer), ("kind", .text), ("identifier", .text), ("target", .text), ("body", .json),
            ("state", .text), ("attempts", .integer), ("next_attempt_at", .integer), ("last_status", .integer), ("last_error", .text),
            ("created_at", .integer), ("delivered_at", .integer), ("deletion_id", .integer),
        ]),
        CopyTable("admin_sessions", key: ["token_hash"], [
            ("token_hash", .blob), ("csrf_token", .text), ("created_at", .integer), ("expires_at", .integer),
        ]),
        CopyTable("deletions", key: ["id"], [
            ("id", .integer), ("kind", .text), ("source", .text), ("created_at", .integer), ("completed_at", .integer),
            ("profiles", .integer), ("events", .integer), ("memberships", .integer), ("ledger_rows", .integer), ("deliveries", .integer),
            ("notifications", .integer),
        ]),
    ]
}
