import ArgumentParser
import Foundation

/// The project's folders, one spelling family across commands: `--plans`, `--snapshots`,
/// `--archives`, each else its environment variable, else its folder under the current one.
enum ProjectFolder {
    /// `option`, else the environment variable `variable` when set and not empty, else `standard`.
    static func resolve(_ option: String?, _ variable: String, _ standard: String) -> String {
        if let option { return option }
        if let named = ProcessInfo.processInfo.environment[variable], !named.isEmpty { return named }
        return standard
    }
}

/// Where run snapshots go (`run`) and where `snapshot take` writes without `-o`.
struct SnapshotsOption: ParsableArguments {
    @Option(
        name: .customLong("snapshots"),
        help: ArgumentHelp("The folder of run snapshots (default: PGMEND_SNAPSHOTS, else Snapshots/runs).", valueName: "dir"))
    var folder: String?

    var snapshots: String { ProjectFolder.resolve(folder, "PGMEND_SNAPSHOTS", "Snapshots/runs") }
}

/// Where archives are written (a plan's `archive_table`, `drop_table` and `fix_foreign_keys`
/// steps that name no folder) and read (`archive list`, `drift --write-plan`).
struct ArchivesOption: ParsableArguments {
    @Option(
        name: .customLong("archives"),
        help: ArgumentHelp(
            "The archive folder, for steps that name none (default: PGMEND_ARCHIVES, else Snapshots/archive).", valueName: "dir"))
    var folder: String?

    var archives: String { ProjectFolder.resolve(folder, "PGMEND_ARCHIVES", "Snapshots/archive") }
}
