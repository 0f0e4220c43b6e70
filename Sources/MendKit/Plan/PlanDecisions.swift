import Yams

/// A choice a plan leaves open: a `decide` key anywhere in the file. `pgmend doctor
/// --write-plan` writes one where only a person can choose (`zone: {decide: "..."}`, a step's
/// own `decide: "..."` line, an `ignore:` entry's `reason`); the plan is refused, each one named
/// at its line, until it is made.
struct PlanDecision {
    /// How the decision is written, which says how it is made.
    enum Form {
        /// `{decide: "..."}` as a value: replaced by the chosen value.
        case value
        /// A `decide:` line among a step's options: deleted to accept the step.
        case stepLine
        /// A `decide:` line beside other keys elsewhere (an `ignore:` entry, a column).
        case line
    }

    /// Where the `decide` key is written.
    var location: FileLocation
    var question: String?
    var form: Form
    /// Where the readers of the surrounding options would complain about the same thing (the
    /// unknown key `decide`, a map where text was expected): those complaints are left out.
    var quiet: Set<FileLocation>

    var problem: PlanProblem {
        let asked = question.map { ": \($0)" } ?? ""
        let how = switch form {
        case .value: "replace `{decide: ...}` with your choice"
        case .stepLine: "delete this `decide:` line to accept the step, or delete the step"
        case .line: "make it, then delete this `decide:` line"
        }
        return PlanProblem(location, "a decision is still to be made here\(asked); \(how)")
    }
}

/// Finds every `decide` key of a plan in one walk over its YAML, whatever step kind or option
/// it stands in, so no option reader needs to know of it.
enum PlanDecisions {
    static func find(_ document: PlanValue) -> [PlanDecision] {
        var found: [PlanDecision] = []
        var seen: Set<FileLocation> = []
        walk(document, stepOptions: false, into: &found, seen: &seen)
        // Each step's options are a step's, not just a map: a `decide:` line there accepts it.
        for (key, value) in document.pairs ?? [] where key.text == "steps" {
            for item in value.list ?? [] {
                for (_, options) in item.pairs ?? [] { walk(options, stepOptions: true, into: &found, seen: &seen) }
            }
        }
        return found.sorted { $0.location < $1.location }
    }

    /// Records the `decide` keys in `value` and below; a key already recorded (reached again
    /// through an alias, or first without knowing it stood in a step) is replaced, not repeated.
    private static func walk(_ value: PlanValue, stepOptions: Bool, into found: inout [PlanDecision], seen: inout Set<FileLocation>) {
        if let items = value.list {
            for item in items { walk(item, stepOptions: false, into: &found, seen: &seen) }
            return
        }
        guard let pairs = value.pairs else { return }
        for (key, nested) in pairs {
            guard key.text == "decide" else {
                walk(nested, stepOptions: false, into: &found, seen: &seen)
                continue
            }
            let form: PlanDecision.Form = stepOptions ? .stepLine : pairs.count == 1 ? .value : .line
            // A value's readers complain where the map starts (`{`), an unknown key where it is.
            let quiet: Set<FileLocation> = form == .value ? [key.location, value.location] : [key.location]
            let decision = PlanDecision(location: key.location, question: nested.text, form: form, quiet: quiet)
            if seen.insert(key.location).inserted {
                found.append(decision)
            } else if stepOptions, let index = found.firstIndex(where: { $0.location == key.location }) {
                found[index] = decision
            }
        }
    }

    /// The problems of a plan with `decisions` open: each decision, then every other problem
    /// but the readers' complaints about the decisions themselves.
    static func problems(_ decisions: [PlanDecision], others: [PlanProblem]) -> [PlanProblem] {
        let quiet = decisions.reduce(into: Set<FileLocation>()) { $0.formUnion($1.quiet) }
        return decisions.map(\.problem) + others.filter { !quiet.contains($0.location) }
    }
}
