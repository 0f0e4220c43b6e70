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
