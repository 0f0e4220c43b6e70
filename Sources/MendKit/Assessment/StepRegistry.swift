/// Every step kind a plan can name, in the order `plan show` and the docs list them.
public enum StepRegistry {
    public static let kinds: [any RepairStep.Type] = [
        SQLStep.self,
        RenameTableStep.self,
        CreateTableStep.self,
        AddColumnStep.self,
        CreateIndexStep.self,
        AddCheckStep.self,
        ToEnumStep.self,
        ArchiveTableStep.self,
        DropTableStep.self,
        BackfillStep.self,
        ExtractJSONFieldsStep.self,
        DedupeIndexesStep.self,
        FixForeignKeysStep.self,
        GenerateModelsStep.self,
        NormalizeUUIDStep.self,
        NormalizeTimestampsStep.self,
    ]

    public static func kind(named name: String) -> (any RepairStep.Type)? {
        kinds.first { $0.kind == name }
    }

    public static var names: [String] { kinds.map { $0.kind } }
}
