import Foundation
import Server
import Testing
import Yams

/// `audit/openapi.yaml` and the router must describe the same API: a route missing from either
/// side, or a different permission, fails.
@Suite struct OpenAPITests {
    @Test func theSpecAndTheRouterListTheSameRoutesWithTheSamePermissions() throws {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        let text = try String(contentsOfFile: url.path + "/audit/openapi.yaml", encoding: .utf8)
        let spec = try #require(try Yams.load(yaml: text) as? [String: Any])
        #expect(spec["openapi"] as? String == "3.1.0")
        let paths = try #require(spec["paths"] as? [String: Any])
        var documented: [String: String] = [:]  // "METHOD path" → permission ("" when public)
        for (path, item) in paths {
            for (method, operation) in (item as? [String: Any]) ?? [:] {
                let operation = operation as? [String: Any] ?? [:]
                let isPublic = (operation["security"] as? [Any])?.isEmpty == true
                documented["\(method.uppercased()) \(path)"] = isPublic ? "" : (operation["x-permission"] as? String ?? "?")
            }
        }
        var routed: [String: String] = [:]
        // A catch-all (`**`) is written as one path parameter in OpenAPI.
        for route in Service.routes {
            routed["\(route.method.rawValue) \(route.path.replacingOccurrences(of: "**", with: "{path}"))"] = route.permission ?? ""
        }
        #expect(Set(documented.keys) == Set(routed.keys), "in the spec only: \(Set(documented.keys).subtracting(routed.keys)); in the router only: \(Set(routed.keys).subtracting(documented.keys))")
        for (key, permission) in routed { #expect(documented[key] == permission, "\(key)") }
    }
}
