import Foundation

/// Reads a JSON object of strings that the server built (`json_object_agg`), for the rare
/// catalog value that is a map.
enum JSONObjectText {
    static func strings(_ text: String) throws -> [String: String] {
        try JSONDecoder().decode([String: String].self, from: Data(text.utf8))
    }
}
