import Foundation
import LocalServer

/// An application's Alembic history as Alembic itself reads it (`ScriptDirectory`, with the
/// application's Python): its heads and where a new revision goes. `pgmend drift` reads it to
/// write the migration that records a repair after the current head.
public struct AlembicVersions: Sendable, Equatable {
    /// The head revisions: one in a linear history, none in an empty one.
    public var heads: [String]
    /// The folder the head's file is in (Alembic's versions folder when there is no head).
    public var folder: String
    /// The head's file name (`002_user_phone_columns.py`), when there is one head.
    public var headFile: String?

    public init(heads: [String], folder: String, headFile: String?) {
        (self.heads, self.folder, self.headFile) = (heads, folder, headFile)
    }

    static let script = #"""
import json, os, sys
try:
    from alembic.config import Config
    from alembic.script import ScriptDirectory
except ImportError as error:
    sys.stderr.write("pgmend-error: Alembic is not installed in %s (%s); name the application's Python with --python\n" % (sys.executable, error))
    sys.exit(17)
try:
    script = ScriptDirectory.from_config(Config(sys.argv[1]))
    heads = sorted(script.get_heads())
    files = [script.get_revision(head).path for head in heads]
    print(json.dumps({"heads": heads, "versions": script.versions, "files": files}))
except Exception as error:
    sys.stderr.write("pgmend-error: %s: %s\n" % (type(error).__name__, " ".join(str(error).split("\n"))))
    sys.exit(17)
"""#

    /// Asks Alembic, with `python`, about the history `ini` configures.
    public static func read(ini: String, python: String) throws -> AlembicVersions {
        let executable = try ExpectedSnapshotTaker.resolve(python: python)
        let path = ExpectedSnapshotTaker.absolute(ini)
        let outcome: ProcessOutcome
        do {
            outcome = try ProcessRunner.run(executable, ["-c", script, path])
        } catch {
            throw ExpectedSchemaError(.badInput, "cannot run \(python): \(error)")
        }
        let prefix = SchemaBuilderScript.errorPrefix
        guard outcome.status == 0 else {
            let lines = outcome.stderr.split(separator: "\n").map(String.init)
            let message = lines.last(where: { $0.hasPrefix(prefix) }).map { String($0.dropFirst(prefix.count)) }
                ?? lines.last ?? "exit \(outcome.status)"
            throw ExpectedSchemaError(.badInput, "cannot read the Alembic history of \(ini): \(message)")
        }
        struct Answer: Decodable {
            var heads: [String]
            var versions: String
            var files: [String]
        }
        guard let answer = try? JSONDecoder().decode(Answer.self, from: Data(outcome.stdout.utf8)) else {
            throw ExpectedSchemaError(.badInput, "cannot read the Alembic history of \(ini): \(python) printed \(outcome.stdout.prefix(200))")
        }
        let file = answer.files.count == 1 ? URL(fileURLWithPath: answer.files[0]) : nil
        return AlembicVersions(
            heads: answer.heads, folder: file?.deletingLastPathComponent().path ?? answer.versions, headFile: file?.lastPathComponent)
    }

    /// The revision a new one follows; refused when the history has several heads.
    public func downRevision(ini: String) throws -> String? {
        guard heads.count <= 1 else {
            throw ExpectedSchemaError(.badInput, "the Alembic history of \(ini) has \(heads.count) heads (\(heads.joined(separator: ", "))): "
                + "merge them first (alembic merge heads), then run drift again")
        }
        return heads.first
    }

    /// The new revision's file name: the head's number plus one when its file name begins with
    /// one (`002_...` -> `003_pgmend_repair.py`), else the revision id first.
    public func fileName(revision: String) -> String {
        if let headFile {
            let digits = headFile.prefix(while: \.isNumber)
            if !digits.isEmpty, headFile.dropFirst(digits.count).hasPrefix("_"), let number = Int(digits) {
                let next = String(number + 1)
                return String(repeating: "0", count: max(0, digits.count - next.count)) + next + "_pgmend_repair.py"
            }
        }
        return "\(revision)_pgmend_repair.py"
    }
}
