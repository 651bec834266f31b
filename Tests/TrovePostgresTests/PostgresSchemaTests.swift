import PostgresNIO
import Testing
import TrovePostgres
import TroveTestEngines

/// The schema as PostgreSQL's own catalog describes it: Citus-ready by construction (issue 19 §5).
@Suite(.enabled(if: TestPostgres.available, "needs TROVE_TEST_POSTGRES (.ci/run starts a cluster)"))
struct PostgresSchemaTests {
    /// Installation-wide tables, replicated whole to every node under Citus (`create_reference_table`); the
    /// Trove nodes and their claims are among them (small, read by every Trove node).
    static let referenceTables: Set<String> = ["accounts", "server_keys", "trove_migrations", "trove_nodes", "work_claims"]

    /// The statement check every engine test ends with (`StatementRule`) sees what was sent, and tells a
    /// statement that reaches a distributed table without `account_id` from one that names it.
    @Test func theStatementCheckFindsAStatementWithoutAccountID() async throws {
        try await TestPostgres.withDatabase { db in
            _ = try await db.query("SELECT count(*) FROM profiles WHERE uid = 'x'")
            _ = try await db.query("SELECT count(*) FROM profiles p WHERE p.account_id = 1 AND p.uid = 'y'")
            _ = try await db.query("SELECT count(*) FROM accounts")
            let found = try await StatementRule.violations(db)
            #expect(found == ["SELECT count(*) FROM profiles WHERE uid = $1"])
            // The check knows every account table of the schema.
            let tables = try await db.query(
                "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind = 'r'"
            ).map { try $0.decode(String.self) }
            #expect(Set(tables).subtracting(Self.referenceTables) == Set(StatementRule.distributed))
        }
    }

    @Test func everyAccountTableLeadsItsKeysWithAccountID() async throws {
        try await TestPostgres.withDatabase { db in
            let tables = try await db.query(
                "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind = 'r' ORDER BY 1"
            ).map { try $0.decode(String.self) }
            #expect(tables.count >= 25)
            var problems: [String] = []
            for table in tables where !Self.referenceTables.contains(table) {
                // The primary key and every unique index: their first column.
                let keys = try await db.query(
                    """
                    SELECT i.relname, a.attname, x.indisprimary
                    FROM pg_index x
                    JOIN pg_class t ON t.oid = x.indrelid
                    JOIN pg_class i ON i.oid = x.indexrelid
                    LEFT JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = x.indkey[0]
                    WHERE t.relname = \(table) AND (x.indisunique OR x.indisprimary)
                    """
                ).map { try $0.decode((String, String?, Bool).self) }
                if !keys.contains(where: { $0.2 }) { problems.append("\(table): no primary key") }
                for (index, first, _) in keys where first != "account_id" {
                    problems.append("\(table): \(index) leads with \(first ?? "an expression"), not account_id")
                }
                // Foreign keys to other account tables name account_id too (Citus co-location).
                let foreign = try await db.query(
                    """
                    SELECT c.conname, r.relname,
                           EXISTS (SELECT 1 FROM unnest(c.conkey) k JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k WHERE a.attname = 'account_id')
                    FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid JOIN pg_class r ON r.oid = c.confrelid
                    WHERE c.contype = 'f' AND t.relname = \(table)
                    """
                ).map { try $0.decode((String, String, Bool).self) }
                for (name, target, named) in foreign where !Self.referenceTables.contains(target) && !named {
                    problems.append("\(table): foreign key \(name) to \(target) does not include account_id")
                }
            }
            #expect(problems == [])
        }
    }

    @Test func migratingTwiceAtOnceAppliesEachMigrationOnce() async throws {
        try await TestPostgres.withDatabase(migrated: false) { db in
            await #expect(throws: PostgresStoreError.schemaMissing(location: db.location.description, applied: 0, known: PostgresAppDatabase.migrationNames.count)) {
                try await db.checkSchema()
            }
            async let first = db.migrate()
            async let second = db.migrate()
            let (a, b) = try await (first, second)
            #expect((a + b).sorted() == PostgresAppDatabase.migrationNames)
            #expect(try await db.appliedMigrations() == PostgresAppDatabase.migrationNames)
            try await db.checkSchema()
        }
    }

    @Test func aServerThatIsNotThereOrRefusesSaysSo() async throws {
        var wrongPort = TestPostgres.server
        wrongPort.port = 1
        await #expect(throws: PostgresStoreError.self) { try await PostgresAppDatabase.connect(wrongPort) }
        do {
            _ = try await PostgresAppDatabase.connect(wrongPort)
        } catch {
            guard case .unreachable(let location, _) = error else { Issue.record("expected unreachable, got \(error)"); return }
            #expect(location.contains("127.0.0.1:1/"))
        }
        var wrongPassword = TestPostgres.server
        wrongPassword.password = "not-the-password"
        await #expect(throws: PostgresStoreError.authentication(location: wrongPassword.description, user: wrongPassword.user)) {
            try await PostgresAppDatabase.connect(wrongPassword)
        }
        var noDatabase = TestPostgres.server
        noDatabase.database = "trove_no_such_database"
        await #expect(throws: PostgresStoreError.noDatabase(location: noDatabase.description, database: "trove_no_such_database")) {
            try await PostgresAppDatabase.connect(noDatabase)
        }
    }
}

struct PostgresLocationTests {
    @Test func urlsAreReadAndTheirMistakesNamed() throws {
        let l = try PostgresLocation(url: "postgres://us%40er:p%3Ass@db.example:6543/trove?sslmode=require")
        #expect(l == PostgresLocation(host: "db.example", port: 6543, user: "us@er", password: "p:ss", database: "trove", tls: .require))
        #expect(l.description == "postgres://us@er@db.example:6543/trove")
        #expect(try PostgresLocation(url: "postgresql://u@h/d") == PostgresLocation(host: "h", user: "u", password: nil, database: "d"))
        let patient = try PostgresLocation(url: "postgres://u:p@h/d?sslmode=disable&connect_timeout=45")
        #expect(patient.connectTimeout == .seconds(45) && patient.tls == .disable)
        #expect(try PostgresLocation(url: patient.url) == patient)
        #expect(l.connectTimeout == .seconds(10) && !l.url.contains("connect_timeout"))
        for (bad, says) in [
            ("postgres://u:secret@h:5432", "no database name"), ("postgres://h/d", "no user name"), ("postgres://u:secret@/d", "no host"),
            ("postgres://u@h/d?sslmode=maybe", "sslmode"), ("postgres://u@h/d?foo=1", "unknown parameter"),
            ("postgres://u@h/d?connect_timeout=0", "connect_timeout"), ("postgres://u@h/d?connect_timeout=5s", "connect_timeout"),
        ] {
            do {
                _ = try PostgresLocation(url: bad)
                Issue.record("\(bad) was accepted")
            } catch {
                #expect(error.description.contains(says), "\(bad): \(error)")
                #expect(!error.description.contains("secret"))
            }
        }
    }
}

@Suite(.enabled(if: TestPostgres.available, "needs TROVE_TEST_POSTGRES (.ci/run starts a cluster)"))
struct PostgresCheckTests {
    @Test func referencesThatLeadNowhereAreCounted() async throws {
        try await TestPostgres.withDatabase { db in
            #expect(try await db.check() == [])
            try await db.query(
                """
                INSERT INTO accounts (id, name, account_secret_hash, app_api_key_hash, site_id, track_api_key_hash, created_at)
                VALUES (1, 'a', decode(repeat('01', 32), 'hex'), decode(repeat('02', 32), 'hex'), 's1', decode(repeat('03', 32), 'hex'), 0),
                       (2, 'b', decode(repeat('04', 32), 'hex'), decode(repeat('05', 32), 'hex'), 's2', decode(repeat('06', 32), 'hex'), 0)
                """)
            try await db.query("INSERT INTO profiles (account_id, id, uid, created_at, updated_at) VALUES (1, 10, 'u', 0, 0)")
            try await db.query("INSERT INTO event_names (account_id, id, uid, name) VALUES (1, 5, 'x', 'X')")
            try await db.query("INSERT INTO events (account_id, profile_id, name_id, timestamp, received_at, source) VALUES (1, 10, 5, 0, 0, 0)")
            #expect(try await db.check() == [])
            // The profile exists, but in account 1: an event of account 2 naming it is broken.
            try await db.query("INSERT INTO events (account_id, profile_id, name_id, timestamp, received_at, source) VALUES (2, 10, 5, 0, 0, 0)")
            try await db.query("INSERT INTO events (account_id, profile_id, name_id, timestamp, received_at, source) VALUES (1, 99, 5, 0, 0, 0)")
            #expect(try await db.check() == ["2 events whose profile is gone", "1 events whose name is unknown"])
        }
    }
}
