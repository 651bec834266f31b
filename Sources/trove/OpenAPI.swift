import ArgumentParser
import Foundation
import TroveOpenAPI
import TroveServer

/// `trove openapi`: the API document the server serves at `/openapi.json`, for client generators and tools
/// that read a file.
struct OpenAPI: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "openapi",
        abstract: "Print the HTTP API's OpenAPI 3.1 document (as served at GET /openapi.json).",
        discussion: "JSON by default, as served (each family's credentials and shared answers filled in); --format yaml prints the source, openapi.yaml.")

    enum Format: String, ExpressibleByArgument, CaseIterable { case json, yaml }

    @Option(help: "json (as served) or yaml (the source).") var format: Format = .json

    func run() throws {
        switch format {
        case .json: FileHandle.standardOutput.write(Data(APIDocument.bytes + [0x0A]))
        case .yaml: FileHandle.standardOutput.write(Data(OpenAPISource.yaml.utf8))
        }
    }
}
