/// An entry of a plan's `ignore:` list: a finding of `pgmend doctor` kept on purpose. Doctor
/// reports a finding of this class about this object as kept, not as a problem.
public struct PlanIgnore: Sendable, Hashable {
    /// A `FindingClass` id: `backup_table`.
    public var classID: String
    /// The object, as doctor names it (`users.metadata`, `idx_apikey_user_id`).
    public var object: String
    /// Why it is kept, in the operator's words.
    public var reason: String?
    /// Where the entry is written.
    public var location: FileLocation

    public init(classID: String, object: String, reason: String?, location: FileLocation) {
        self.classID = classID
        self.object = object
        self.reason = reason
        self.location = location
    }
}

extension PlanIgnore {
    /// The plan's `ignore:` list: maps of `class` (a doctor class id), `object` and an
    /// optional `reason`. An entry written twice is reported at its second place.
    static func read(_ top: inout OptionReader) -> [PlanIgnore] {
        guard let value = top.rawValue("ignore") else { return [] }
        guard let items = value.list else {
            top.report(value.location, "'ignore' must be a list of {class, object, reason} maps, not \(value.kindDescription)")
            return []
        }
        let classes = FindingClass.allCases.map(\.rawValue)
        var entries: [PlanIgnore] = []
        for item in items {
            guard item.pairs != nil else {
                top.report(item.location, "each item of 'ignore' must be a map with class, object and reason, not \(item.kindDescription)")
                continue
            }
            var reader = OptionReader(owner: "an ignore entry", map: item)
            let classID = reader.text("class")
            let object = reader.text("object")
            let reason = reader.optionalText("reason")
            if let classID, FindingClass(rawValue: classID) == nil {
                reader.report(reader.location(of: "class"), "unknown doctor class '\(classID)'\(Suggestion.hint(for: classID, among: classes)); docs/doctor.md lists the classes")
            }
            top.absorb(reader)
            guard let classID, let object, FindingClass(rawValue: classID) != nil else { continue }
            if let first = entries.first(where: { $0.classID == classID && $0.object == object }) {
                top.report(item.location, "\(classID) \(object) is already kept by the entry at line \(first.location.line)")
                continue
            }
            entries.append(PlanIgnore(classID: classID, object: object, reason: reason, location: item.location))
        }
        return entries
    }
}
