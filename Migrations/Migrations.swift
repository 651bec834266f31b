/// The SQL migrations, embedded in the binary so Trove runs from any directory with no files beside it.
/// Applied in this order; a landed migration is never edited, a change is a new file listed last.
public enum TroveMigrations {
    public static let all: [(name: String, sql: String)] = [
        ("0001_initial", String(decoding: PackageResources._001_initial_sql, as: UTF8.self)),
        ("0002_event_rollups", String(decoding: PackageResources._002_event_rollups_sql, as: UTF8.self)),
        ("0003_segments", String(decoding: PackageResources._003_segments_sql, as: UTF8.self)),
        ("0004_event_name_indexes", String(decoding: PackageResources._004_event_name_indexes_sql, as: UTF8.self)),
        ("0005_exports", String(decoding: PackageResources._005_exports_sql, as: UTF8.self)),
        ("0006_anonymous_events", String(decoding: PackageResources._006_anonymous_events_sql, as: UTF8.self)),
        ("0007_integrations", String(decoding: PackageResources._007_integrations_sql, as: UTF8.self)),
        ("0008_webhooks", String(decoding: PackageResources._008_webhooks_sql, as: UTF8.self)),
        ("0009_customerio_destination", String(decoding: PackageResources._009_customerio_destination_sql, as: UTF8.self)),
        ("0010_event_counts", String(decoding: PackageResources._010_event_counts_sql, as: UTF8.self)),
        ("0011_report_indexes", String(decoding: PackageResources._011_report_indexes_sql, as: UTF8.self)),
        ("0012_admin_sessions", String(decoding: PackageResources._012_admin_sessions_sql, as: UTF8.self)),
        ("0013_report_steps", String(decoding: PackageResources._013_report_steps_sql, as: UTF8.self)),
        ("0014_event_counts_watermark", String(decoding: PackageResources._014_event_counts_watermark_sql, as: UTF8.self)),
        ("0015_report_step_builds", String(decoding: PackageResources._015_report_step_builds_sql, as: UTF8.self)),
        ("0016_anonymous_event_counts", String(decoding: PackageResources._016_anonymous_event_counts_sql, as: UTF8.self)),
        ("0017_person_chain", String(decoding: PackageResources._017_person_chain_sql, as: UTF8.self)),
        ("0018_deletions", String(decoding: PackageResources._018_deletions_sql, as: UTF8.self)),
        ("0019_write_keys", String(decoding: PackageResources._019_write_keys_sql, as: UTF8.self)),
        ("0020_report_step_profiles", String(decoding: PackageResources._020_report_step_profiles_sql, as: UTF8.self)),
        ("0021_event_counts_daily", String(decoding: PackageResources._021_event_counts_daily_sql, as: UTF8.self)),
        ("0022_event_recency", String(decoding: PackageResources._022_event_recency_sql, as: UTF8.self)),
    ]
}
