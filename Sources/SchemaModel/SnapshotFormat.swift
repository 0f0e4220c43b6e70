/// The version of the snapshot file format this build writes and the newest it reads.
///
/// The schema model itself (tables, columns, constraints, indexes, diffs) arrives with the
/// snapshot work; see the README's feature list.
public enum SnapshotFormat {
    public static let currentVersion = 1
}
