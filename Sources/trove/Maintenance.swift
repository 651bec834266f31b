import ArgumentParser
import Foundation
import TroveCore
import TrovePostgres

struct Backup: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a consistent copy of the database to DEST, safely while a server runs on it.",
        discussion: "The copy is the database as of one moment (one read transaction), compacted and integrity-checked. Restore: stop the server, move DEST into place as the database file (removing any -wal and -shm files beside the old one), start again.")

    @OptionGroup var db: DatabaseOptions

    @Argument(help: "The file to write (must not exist).")
    var destination: String

    func run() async throws {
        let started = ContinuousClock.now
        do {
            let bytes = try Maintenance.backup(source: db.path, destination: destination)
            let elapsed = (ContinuousClock.now - started).components
            let seconds = Double(elapsed.seconds) + Double(elapsed.attoseconds) / 1e18
            print("backup written to \(destination): \(bytes) bytes in \(String(format: "%.1f", seconds)) s, integrity ok")
        } catch let error as Maintenance.BackupError {
            throw ValidationError(error.description)
        }
    }
}

struct Check: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check the database (safe while serving); exit 1 on problems.",
        discussion: "SQLite: its integrity and foreign-key checks. PostgreSQL: the schema is this binary's, and every reference Trove keeps without a declared foreign key (an event's profile and name, a member's profile, …) leads somewhere.")

    @OptionGroup var db: DatabaseOptions

    func run() async throws {
        if let location = try db.postgres {
            let database = try await PostgresAppDatabase.connect(location, maxConnections: 1)
            let problems: [String]
            do {
                problems = try await database.check()
            } catch {
                await database.close()
                throw error
            }
            await database.close()
            for p in problems { print(p) }
            if !problems.isEmpty { throw ExitCode(1) }
            print("\(location): ok")
            return
        }
        let problems: [String]
        do {
            problems = try Maintenance.check(path: db.path)
        } catch let error as Maintenance.BackupError {
            throw ValidationError(error.description)
        }
        if problems.isEmpty {
            print("\(db.path): ok")
        } else {
            for p in problems { print(p) }
            throw ExitCode(1)
        }
    }
}
