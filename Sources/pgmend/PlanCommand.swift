import ArgumentParser
import Foundation
import MendKit
import SchemaModel

/// Where named plans live; shared by `plan` and `run`.
struct PlansOption: ParsableArguments {
    @Option(name: .customLong("plans"), help: ArgumentHelp("The folder of named plans (default: PGMEND_PLANS, else Plans).", valueName: "dir"))
    var folder: String?

    /// `--plans`, else `PGMEND_PLANS`, else `Plans` (in the current folder).
    var plans: String { ProjectFolder.resolve(folder, "PGMEND_PLANS", "Plans") }

    /// A command that reads the whole folder stops, exit 2, when there is none, saying where it
    /// looked (run outside a project, `plan list` said "no plans" and `plan check` nothing).
    func requireFolder() throws {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: plans, isDirectory: &isFolder), isFolder.boolValue else {
            let named = folder != nil ? "--plans" : ProcessInfo.processInfo.environment["PGMEND_PLANS"].map { _ in "PGMEND_PLANS" } ?? "the default"
            throw CommandFailure(.badInput, "no plans folder \(plans) (\(named)) in \(FileManager.default.currentDirectoryPath): "
                + "run pgmend in the project's folder, or name the folder with --plans DIR or PGMEND_PLANS")
        }
    }

    var catalog: PlanCatalog { PlanCatalog(directory: plans) }

    /// Loads a plan; a missing or invalid one is bad input (exit 2) with every problem listed.
    /// `archives`: where its steps that name no archive folder archive to.
    func load(_ nameOrPath: String, archives: String = PlanLoader.defaultArchiveFolder) throws -> Plan {
        // A name, not a path, outside a project: say where it looked, not "there are none".
        if !PlanCatalog.isPath(nameOrPath) { try requireFolder() }
        do {
            return try PlanCatalog(directory: plans, archiveFolder: archives).load(nameOrPath)
        } catch let error as PlanError {
            throw CommandFailure(.badInput, "\(nameOrPath) has \(error.problems.count) problem\(error.problems.count == 1 ? "" : "s"):\n\(error.description)")
        } catch let error as PlanNotFound {
            throw CommandFailure(.badInput, error.description)
        }
    }
}

extension PgMend {
    /// `pgmend plan list|show|check`.
    struct PlanCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "plan", abstract: "List, show and check the named repair plans.",
            subcommands: [List.self, Show.self, Check.self])
    }
}

extension PgMend.PlanCommand {
    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the named plans.")
        @OptionGroup var plans: PlansOption

        @OptionGroup var format: FormatOption

        func run() throws {
            try format.answering(Self.self) { try list() }
        }

        /// One entry of `plan list --format json`.
        struct Entry: Encodable {
            var name: String
            var path: String
            var valid: Bool
            var steps: Int?
            var description: String?
        }

        func list() throws {
            try plans.requireFolder()
            let entries = plans.catalog.names().map { name in
                switch Result(catching: { try plans.catalog.load(name) }) {
                case .success(let plan): Entry(name: name, path: plan.path, valid: true, steps: plan.steps.count, description: plan.description)
                case .failure: Entry(name: name, path: (try? plans.catalog.path(for: name)) ?? name, valid: false)
                }
            }
            try format.answer(["plans": entries]) {
                if entries.isEmpty { print("no plans in \(plans.plans)/") }
                // Name and step count aligned, the description wrapped beside them in 100 columns.
                let width = entries.map(\.name.count).max() ?? 0
                for entry in entries {
                    let steps = entry.steps.map { TextLayout.count($0, "step") } ?? "INVALID"
                    let lead = entry.name.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + steps.padding(toLength: 9, withPad: " ", startingAt: 0) + "  "
                    let text = entry.valid ? entry.description ?? "" : "pgmend plan check \(entry.name) says why"
                    print(TextLayout.lines(text, first: lead, rest: String(repeating: " ", count: lead.count)).joined(separator: "\n"))
                }
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a plan as pgmend understands it, defaults filled in.")
        @Argument(help: "Plan name or path.") var plan: String
        @OptionGroup var plans: PlansOption

        func run() throws {
            let plan = try plans.load(plan)
            print("name: \(plan.name)")
            if let description = plan.description { say("description: \(description)") }
            print("file: \(plan.path)")
            print("sha256: \(plan.sha256)")
            print("settings:")
            for (name, value) in plan.settings.lines { print("  \(name): \(value)") }
            print("steps:")
            for step in plan.steps {
                print("  \(step.number). \(step.kind)    # \(step.location)")
                for (name, value) in step.step.settings { say("\(name): \(value)", first: "       ", rest: "         ") }
            }
            if !plan.ignores.isEmpty {
                print("ignore: (doctor reports these findings as kept)")
                for entry in plan.ignores {
                    print("  - \(entry.classID) \(entry.object)    # \(entry.location)")
                    if let reason = entry.reason { say("reason: \(reason)", first: "       ", rest: "         ") }
                }
            }
        }
    }

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check plans; every problem is listed as file:line:column.",
            discussion: "Exits 0 when every plan is valid, 2 when any has a problem.")
        @Argument(help: "Plan names or paths (default: every plan).") var names: [String] = []
        @OptionGroup var plans: PlansOption
        @OptionGroup var format: FormatOption

        struct Answer: Encodable {
            var plan: String
            var valid: Bool
            var problems: [String]
        }

        func run() throws {
            try format.answering(Self.self) { try check() }
        }

        func check() throws {
            if names.isEmpty { try plans.requireFolder() }
            let targets = names.isEmpty ? plans.catalog.names() : names
            var answers: [Answer] = []
            for name in targets {
                // Named by its file whether it is valid or not, so a script can match answers
                // to files; by the name as given only when there is no such file.
                let path: String
                do {
                    path = try plans.catalog.path(for: name)
                } catch {
                    answers.append(Answer(plan: name, valid: false, problems: [String(describing: error)]))
                    continue
                }
                do {
                    _ = try PlanLoader.load(path: path)
                    answers.append(Answer(plan: path, valid: true, problems: []))
                } catch let error as PlanError {
                    answers.append(Answer(plan: path, valid: false, problems: error.problems.map(\.description)))
                } catch {
                    answers.append(Answer(plan: path, valid: false, problems: [String(describing: error)]))
                }
            }
            switch format.format {
            case .json:
                print(try CanonicalJSON.encode(answers), terminator: "")
            case .text:
                for answer in answers {
                    if answer.valid {
                        print("\(answer.plan): ok")
                    } else {
                        for problem in answer.problems { say(problem, rest: "    ") }
                    }
                }
            }
            if answers.contains(where: { !$0.valid }) { throw ExitCode(ExitStatus.badInput.rawValue) }
        }
    }
}
