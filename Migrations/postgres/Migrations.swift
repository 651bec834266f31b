/// The PostgreSQL engine's migrations (a second set beside SQLite's, for the same data), embedded in the
/// binary. Applied in this order; a landed migration is never edited, a change is a new file listed last.
public enum TrovePostgresMigrations {
    public static let all: [(name: String, sql: String)] = [
        ("0001_initial", String(decoding: PackageResources._001_initial_sql, as: UTF8.self)),
        ("0002_membership_marked_at", String(decoding: PackageResources._002_membership_marked_at_sql, as: UTF8.self)),
        ("0003_profile_activity_view", String(decoding: PackageResources._003_profile_activity_view_sql, as: UTF8.self)),
        ("0004_membership_marks", String(decoding: PackageResources._004_membership_marks_sql, as: UTF8.self)),
        ("0005_event_count_deltas", String(decoding: PackageResources._005_event_count_deltas_sql, as: UTF8.self)),
        ("0006_id_blocks", String(decoding: PackageResources._006_id_blocks_sql, as: UTF8.self)),
        ("0007_write_keys", String(decoding: PackageResources._007_write_keys_sql, as: UTF8.self)),
        ("0008_nodes", String(decoding: PackageResources._008_nodes_sql, as: UTF8.self)),
        ("0009_export_parts", String(decoding: PackageResources._009_export_parts_sql, as: UTF8.self)),
    ]
}
