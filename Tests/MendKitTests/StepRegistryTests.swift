import Foundation
import MendKit
import Testing

/// The registry lists every step kind: a `RepairStep` type left out of
/// `Sources/MendKit/Assessment/StepRegistry.swift` would compile, pass its own tests and be
/// refused in every plan. Swift cannot list a protocol's conforming types at run time, so the
/// sources are read: every type declared (or extended) to conform to `RepairStep`, or to a
/// protocol that refines it, must be in `StepRegistry.kinds`, and the registry names nothing
/// else.
@Suite("The step registry")
struct StepRegistryTests {
    static let sources = URL(fileURLWithPath: packagePath("Sources/MendKit"))

    /// The text of every Swift file under `folder`, by path relative to it.
    static func swiftFiles(under folder: URL) throws -> [(path: String, text: String)] {
        let paths = try #require(FileManager.default.subpathsOfDirectory(atPath: folder.path) as [String]?)
        return try paths.filter { $0.hasSuffix(".swift") }.sorted().map { path in
            (path, try String(contentsOf: folder.appendingPathComponent(path), encoding: .utf8))
        }
    }

    /// Comments and string literals out, so that neither a doc comment's example nor a
    /// message's text counts as a declaration.
    static func code(_ text: String) -> String {
        var text = text
        for pattern in [#"/\*[\s\S]*?\*/"#, #"//[^\n]*"#, ##"#?"""[\s\S]*?"""#?"##, #""(?:[^"\\\n]|\\.)*""#] {
            text = text.replacingOccurrences(of: pattern, with: " ", options: .regularExpression)
        }
        return text
    }

    /// The types that `texts` declare or extend to conform to `root`, directly or through a
    /// protocol that refines it (`protocol BatchedStep: RepairStep`), by their last name.
    static func conformingTypes(to root: String, in texts: [String]) -> Set<String> {
        // `struct Name<T>: A, B where ... {`, the inheritance list on one line or several.
        let declaration = try! NSRegularExpression(
            pattern: #"\b(struct|class|enum|actor|extension|protocol)\s+([A-Za-z_][\w.]*)\s*(?:<[^>{]*>)?\s*:([^{]*)\{"#)
        var found: [(kind: String, name: String, inherits: Set<String>)] = []
        for text in texts.map(code) {
            let range = NSRange(text.startIndex..., in: text)
            for match in declaration.matches(in: text, range: range) {
                func group(_ i: Int) -> String { String(text[Range(match.range(at: i), in: text)!]) }
                let list = group(3).components(separatedBy: " where ")[0]
                let inherits = Set(list.split { !($0.isLetter || $0.isNumber || $0 == "_" || $0 == ".") }.map { String($0.split(separator: ".").last ?? "") })
                found.append((group(1), String(group(2).split(separator: ".").last ?? ""), inherits))
            }
        }
        var protocols: Set<String> = [root]
        while true {
            let refining = Set(found.filter { $0.kind == "protocol" && !$0.inherits.isDisjoint(with: protocols) }.map(\.name))
            if refining.isSubset(of: protocols) { break }
            protocols.formUnion(refining)
        }
        return Set(found.filter { $0.kind != "protocol" && !$0.inherits.isDisjoint(with: protocols) }.map(\.name))
    }

    @Test func everyRepairStepTypeIsInTheRegistry() throws {
        let files = try Self.swiftFiles(under: Self.sources)
        #expect(files.count > 20, "read \(files.count) files under \(Self.sources.path)")
        let declared = Self.conformingTypes(to: "RepairStep", in: files.map(\.text))
        let registered = Set(StepRegistry.kinds.map { String(describing: $0) })
        let missing = declared.subtracting(registered).sorted()
        #expect(missing.isEmpty, "RepairStep types that StepRegistry.kinds does not list: \(missing)")
        // The other way round proves the scan reads the sources at all.
        let unseen = registered.subtracting(declared).sorted()
        #expect(unseen.isEmpty, "registered kinds the scan of \(Self.sources.path) did not find: \(unseen)")
        #expect(StepRegistry.kinds.count == registered.count, "a kind is listed twice")
        #expect(Set(StepRegistry.names).count == StepRegistry.names.count, "two kinds share a name: \(StepRegistry.names)")
    }

    /// The scan itself: the shapes a conformance can take, and what is not one.
    @Test func theScanFindsEveryShapeOfConformance() {
        let text = """
            public struct Plain: RepairStep { }
            final class Classy: Sendable,
                RepairStep where Self: Sendable {
            }
            struct Generic<T: Sendable>: Equatable, MendKit.RepairStep { }
            struct Later { }
            extension Later: RepairStep { }
            protocol BatchedStep: RepairStep { }
            struct Batched: BatchedStep { }
            // struct Commented: RepairStep { }
            /* struct Blocked: RepairStep { } */
            let message = "struct Quoted: RepairStep {"
            struct Unrelated: Effect { }
            struct Prefixed: RepairStepFactory { }
            """
        #expect(Self.conformingTypes(to: "RepairStep", in: [text]) == ["Plain", "Classy", "Generic", "Later", "Batched"])
    }
}
