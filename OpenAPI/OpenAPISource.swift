/// The API document's source, `openapi.yaml` beside this file, embedded in the binary at build time. The
/// server renders it (with each family's common answers added) as `GET /openapi.json`.
public enum OpenAPISource {
    public static var yaml: String { String(decoding: PackageResources.openapi_yaml, as: UTF8.self) }
}
