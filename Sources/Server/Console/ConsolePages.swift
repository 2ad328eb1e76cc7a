import Foundation
import Mustache
import Yams

/// The console's templates and string tables, read once from the binary's resources
/// (`Console/Templates`, `Console/Strings`): a deployed service serves the pages that were
/// reviewed, not files an operator could edit.
public struct ConsolePages: @unchecked Sendable {
    /// Every string, per language (`Console/Strings/id.yaml`, `en.yaml`), by dotted key
    /// (`health.title`).
    public let strings: [ConsoleLanguage: [String: String]]
    /// The same tables nested as written, for templates (`{{t.health.title}}`); immutable
    /// after loading, which is why the struct may be shared across threads.
    let trees: [ConsoleLanguage: [String: Any]]
    let library: MustacheLibrary
    /// The assets (`Console/Assets`) by file name, with their content types.
    let assets: [String: (bytes: [UInt8], contentType: String)]

    /// Loaded once per process; a missing or broken resource is a build defect, so it traps.
    public static let shared: ConsolePages = {
        do {
            return try ConsolePages(resources: Bundle.module)
        } catch {
            fatalError("the console's resources do not load: \(error)")
        }
    }()

    init(resources bundle: Bundle) throws {
        func directory(_ name: String) throws -> URL {
            guard let url = bundle.url(forResource: name, withExtension: nil) else { throw ConsoleResourceError(what: "the \(name) directory is missing") }
            return url
        }
        func files(_ name: String) throws -> [(name: String, url: URL)] {
            let url = try directory(name)
            return try FileManager.default.contentsOfDirectory(atPath: url.path).sorted().map { ($0, url.appendingPathComponent($0)) }
        }
        var strings: [ConsoleLanguage: [String: String]] = [:]
        var trees: [ConsoleLanguage: [String: Any]] = [:]
        for language in ConsoleLanguage.allCases {
            let url = try directory("Strings").appendingPathComponent("\(language.rawValue).yaml")
            let text = try String(contentsOf: url, encoding: .utf8)
            guard let tree = try Yams.load(yaml: text) as? [String: Any] else {
                throw ConsoleResourceError(what: "Strings/\(language.rawValue).yaml is not a map")
            }
            var flat: [String: String] = [:]
            // Yams nests `[AnyHashable: Any]`; Mustache looks up only `[String: Any]`, so the
            // tree is rebuilt with String keys while it is flattened.
            func flatten(_ node: [String: Any], _ prefix: String) throws -> [String: Any] {
                var rebuilt: [String: Any] = [:]
                for (key, value) in node {
                    if let text = value as? String {
                        flat[prefix + key] = text
                        rebuilt[key] = text
                    } else if let inner = value as? [String: Any] {
                        rebuilt[key] = try flatten(inner, prefix + key + ".")
                    } else {
                        throw ConsoleResourceError(what: "Strings/\(language.rawValue).yaml: \(prefix + key) is neither text nor a map")
                    }
                }
                return rebuilt
            }
            trees[language] = try flatten(tree, "")
            strings[language] = flat
        }
        self.strings = strings
        self.trees = trees
        var library = MustacheLibrary()
        for file in try files("Templates") where file.name.hasSuffix(".mustache") {
            try library.register(String(contentsOf: file.url, encoding: .utf8), named: String(file.name.dropLast(".mustache".count)))
        }
        self.library = library
        var assets: [String: (bytes: [UInt8], contentType: String)] = [:]
        let types = ["css": "text/css; charset=utf-8", "js": "text/javascript; charset=utf-8", "svg": "image/svg+xml"]
        for file in try files("Assets") {
            let type = types[String(file.name.split(separator: ".").last ?? "")] ?? "application/octet-stream"
            assets[file.name] = (Array(try Data(contentsOf: file.url)), type)
        }
        self.assets = assets
    }

    /// The page `template` filled with `values`; values are HTML-escaped unless the template
    /// uses `{{{ }}}` (only for SVG and markup the console itself built from escaped parts).
    func render(_ template: String, _ values: [String: Any]) -> String {
        guard let page = library.render(values, withTemplate: template) else { fatalError("no console template named \(template)") }
        return page
    }
}

struct ConsoleResourceError: Error, CustomStringConvertible {
    let what: String
    var description: String { what }
}
