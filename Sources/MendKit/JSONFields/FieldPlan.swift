import PostgresClient
import SchemaModel

/// The SQL of one field of `extract_json_fields`: its JSON value, whether it converts, and what
/// the column must hold. Plan values in it (the path's keys, a default, a time zone, the rows a
/// unique group sets aside) are bound; the type is the server's printing of it.
struct FieldPlan {
    var field: ExtractJSONFieldsStep.Field
    var printedType: String
    var family: JSONCast.Family
    var exists: Bool
    var source: String
    var sourceIsJSON: Bool
    var preferColumn: Bool
    /// `on_invalid: null`: a value that does not convert makes the column NULL.
    var invalidToNull = false
    /// A key absent from a row whose column is set clears the column (`prefer: json`, when no
    /// row had its column set without its key when assessed: such a row lost its key since).
    var clearsRemovedKey = false
    /// Rows a unique group sets aside: their primary keys (as text), each with the value (as
    /// text) it shares with an earlier row.
    var losers: [(key: String, value: String)] = []
    /// The table's key as text (`RowKey.text`).
    var keyText: SQL = ""
    var counts = FieldCounts()

    var columnSQL: SQL { "\(ident: field.name)" }
    var typeSQL: SQL { .catalogText(printedType) }

    /// The document, as jsonb.
    var document: SQL { sourceIsJSON ? "\(ident: source)::jsonb" : "\(ident: source)" }
    /// The JSON value at the path, as jsonb.
    var json: SQL { extract("->", "#>") }
    /// The value at the path as text (a string without its quotes).
    var text: SQL { extract("->>", "#>>") }
    func extract(_ key: SQL, _ path: SQL) -> SQL {
        if field.path.count == 1 { return "(\(document) \(key) \(bind: field.path[0]))" }
        return "(\(document) \(path) \(bind: JSONCast.arrayLiteral(field.path))::text[])"
    }
    /// The key is there with a value other than JSON null.
    /// (`jsonb_typeof` of a missing key is NULL: one extraction says both.)
    var present: SQL { "coalesce(jsonb_typeof(\(json)) <> 'null', false)" }
    /// The JSON type of the value, `''` when the key is absent: one extraction tells absent,
    /// JSON null and a value apart (`CASE \(kind) WHEN ...` evaluates it once).
    var kind: SQL { "coalesce(jsonb_typeof(\(json)), '')" }
    /// SQL gets the server's printed type, not the plan's text: a name it knows, nothing else.
    var cast: JSONCast { JSONCast(family: family, json: json, text: text, type: printedType, trim: field.trim, timeZone: field.assumeTimeZone) }
    /// Converts losslessly (only meaningful where `present`).
    var valid: SQL { cast.valid }
    /// Present and does not convert.
    var unconvertible: SQL { "\(present) AND NOT \(valid)" }
    /// The value is written in a form other than the type's own: a string for a non-text
    /// type, or text that trimming changed.
    var convertedForm: SQL {
        switch family {
        case .text: return field.trim ? "\(text) <> btrim(\(text))" : "false"
        case .boolean, .integer, .numeric: return "jsonb_typeof(\(json)) = 'string'"
        default: return "false"
        }
    }
    /// The JSON's value as the column's type, NULL when absent, JSON null or not convertible.
    var value: SQL { cast.value }
    /// The column's default, as a constant of its type (bound: this is a query, not DDL).
    var defaultValue: SQL? { field.defaultValue.map { "\(bind: $0)::\(typeSQL)" } }
    /// The column is set to something other than its declared default.
    var columnSet: SQL {
        guard exists else { return "false" }
        return columnSetNow
    }
    /// The same in a statement that runs after the column was added (it may have been written
    /// since).
    var columnSetNow: SQL {
        let notDefault: SQL = defaultValue.map { " AND \(columnSQL) IS DISTINCT FROM \($0)" } ?? ""
        return "(\(columnSQL) IS NOT NULL\(notDefault))"
    }
    /// The column is set and the JSON says otherwise: JSON null, or another value (a value that
    /// does not convert is not counted here: `columnSetInvalid`). What `prefer` decides.
    var columnDiffers: SQL {
        "(\(columnSet) AND CASE jsonb_typeof(\(json)) WHEN 'null' THEN true ELSE \(value) IS NOT NULL AND \(columnSQL) IS DISTINCT FROM \(value) END)"
    }
    /// The column is set and the JSON's value does not convert: with `on_invalid: null` the
    /// column would become NULL, so without `prefer` this blocks as a difference does.
    var columnSetInvalid: SQL { "(\(columnSet) AND \(present) AND NOT \(valid))" }
    /// Per row, in one CASE: 0 nothing to tell, 1 `columnDiffers`, 2 `columnSetInvalid`, 3 the
    /// column is set and the key absent.
    var columnState: SQL {
        "CASE WHEN NOT \(columnSet) THEN 0 ELSE CASE \(kind) WHEN '' THEN 3 WHEN 'null' THEN 1"
            + " ELSE CASE WHEN \(value) IS NULL THEN 2 WHEN \(columnSQL) IS DISTINCT FROM \(value) THEN 1 ELSE 0 END END END"
    }

    /// What the column gets when the JSON's value is none (`value` NULL): JSON null clears it
    /// (`prefer: column` keeps the column, set or not); a value that does not convert makes it
    /// NULL with `on_invalid: null` (never the column's default: the default would read as a
    /// value the row never had) and leaves it to the proof otherwise; an absent key leaves it as
    /// it is, unless `clearsRemovedKey`. A set column `prefer: column` keeps never gets here.
    /// `columnExists` false: read while the column is still missing (it is NULL then).
    func noValue(columnExists: Bool) -> SQL {
        let column: SQL = columnExists ? columnSQL : "NULL::\(typeSQL)"
        let null: SQL = "NULL"
        // What each of the three cases gets: the key absent, JSON null, a value that does not
        // convert. A cleared column without a default is NULL whether it was set or not.
        let absent: SQL = !(clearsRemovedKey && columnExists) ? column
            : field.defaultValue == nil ? null : "(CASE WHEN \(columnSetNow) THEN NULL ELSE \(column) END)"
        let jsonNull = preferColumn ? column : null
        let invalid = invalidToNull ? null : column
        // Each extraction of the value costs: one `CASE` over what the cases need.
        if absent == jsonNull && jsonNull == invalid { return absent == null ? "NULL::\(typeSQL)" : absent }
        if absent == invalid { return "(CASE jsonb_typeof(\(json)) WHEN 'null' THEN \(jsonNull) ELSE \(absent) END)" }
        if jsonNull == invalid { return "(CASE WHEN \(json) IS NULL THEN \(absent) ELSE \(jsonNull) END)" }
        return "(CASE \(kind) WHEN '' THEN \(absent) WHEN 'null' THEN \(jsonNull) ELSE \(invalid) END)"
    }

    /// What the column ends with, before set-asides, from `value` computed one way or another:
    /// the column when `prefer: column` keeps it, else the JSON's value, else `noValue`.
    func kept(value: SQL, columnExists: Bool = true) -> SQL {
        // coalesce evaluates the conversion once per row, where CASE ... THEN value would twice.
        let json: SQL = "coalesce(\(value), \(noValue(columnExists: columnExists)))"
        return preferColumn && columnExists ? "(CASE WHEN \(columnSet) THEN \(columnSQL) ELSE \(json) END)" : json
    }

    /// The value a unique group is judged by: what the column ends with, before set-asides
    /// (readable while the column is missing).
    var groupValue: SQL { kept(value: value, columnExists: exists) }

    /// The row is set aside by a unique group: it is one of `losers` and still holds the value
    /// it lost with. A row the application gave another value since (a fresh phone number) is
    /// no longer set aside; the decision needs the row alone, so the backfill's proof, which
    /// skips rows its own batches wrote, still sees every row whose decision could change.
    var setAside: SQL? {
        guard !losers.isEmpty else { return nil }
        // Bound, as arrays: up to `setAsideLimit` keys.
        let keys: SQL = "\(bind: JSONCast.arrayLiteral(losers.map(\.key)))::text[]"
        let values: SQL = "\(bind: JSONCast.arrayLiteral(losers.map(\.value)))::text[]"
        // AND evaluates left to right and stops at false: the group value only for the losers.
        return "(\(keyText) = ANY(\(keys)) AND (\(groupValue))::text = (\(values))[array_position(\(keys), \(keyText))])"
    }

    /// What the column must hold: nothing for a row a unique group sets aside, else `kept`.
    var target: SQL { target(value: value) }
    /// The same, from `value` computed another way (`JSONCast.unchecked` for rows known to
    /// convert).
    func target(value: SQL) -> SQL {
        let kept = kept(value: value)
        guard let setAside else { return kept }
        return "(CASE WHEN \(setAside) THEN NULL ELSE \(kept) END)"
    }
    /// The key may go: its value is in the column, and the column gives it back exactly (a
    /// rounded number stays), or it holds JSON null, which says nothing.
    var removable: SQL {
        let exact: SQL = cast.rounded(columnSQL).map { " AND NOT \($0)" } ?? ""
        return "(\(json) IS NOT NULL AND (jsonb_typeof(\(json)) = 'null' OR (\(valid) AND \(columnSQL) IS NOT DISTINCT FROM \(value)\(exact))))"
    }
    /// The field's path in the document, as `#-` takes it.
    var pathArray: SQL { "\(bind: JSONCast.arrayLiteral(field.path))::text[]" }
}

/// One field's rows, counted when assessed.
struct FieldCounts: Equatable {
    /// The key holds a value other than JSON null.
    var present = 0
    /// Accepted in another form than the type's own.
    var converted = 0
    /// Accepted, but the column does not give the JSON's number back (`real`, `double
    /// precision`, `numeric(p, s)`).
    var rounded = 0
    var invalid = 0
    /// The key holds JSON null.
    var jsonNull = 0
    /// The column is set and the JSON says otherwise: another value, or null.
    var differing = 0
    /// The column is set and the JSON's value does not convert.
    var differingInvalid = 0
    /// The column is set and the key is absent.
    var columnOnly = 0
    /// For a unique field: values that more than one row would hold (rows minus distinct values).
    var repeated = 0
}
