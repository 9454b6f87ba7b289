import Foundation

/// A run's strategy folders: copies of the member's, with the run's parameters
/// merged into each config.json `env` (the swept values replace the config's own;
/// its other keys stay) — exactly the folders a member would get by editing
/// config.json, so the run is exactly that backtest.
public enum StrategyCopies {
    /// `config`'s text with `params` merged into its `env`, or why it cannot be.
    public static func merge(_ params: [String: String], intoConfig config: Data) throws(ResearchFailure) -> Data {
        guard var object = (try? JSONSerialization.jsonObject(with: config)) as? [String: Any] else {
            throw ResearchFailure("config.json is not a JSON object")
        }
        var environment: [String: Any] = [:]
        if let existing = object["env"] {
            guard let existing = existing as? [String: Any] else {
                throw ResearchFailure("config.json's env is not an object of names and string values")
            }
            environment = existing
        }
        for (name, value) in params { environment[name] = value }
        object["env"] = environment
        do {
            return try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
        } catch {
            throw ResearchFailure("cannot write config.json: \(error.localizedDescription)")
        }
    }

    /// Copies the strategy folders `names` (empty: every folder) of `source` into
    /// `destination` (which must not exist), each with `params` merged into its
    /// config.json `env`. Returns the names copied.
    @discardableResult
    public static func prepare(
        _ params: [String: String], from source: URL, names: [String], into destination: URL
    ) throws(ResearchFailure) -> [String] {
        let files = FileManager.default
        var folders = names
        if folders.isEmpty {
            let entries = (try? files.contentsOfDirectory(atPath: source.path)) ?? []
            folders = entries.filter { entry in
                var isFolder: ObjCBool = false
                return !entry.hasPrefix(".")
                    && files.fileExists(atPath: source.appendingPathComponent(entry).path, isDirectory: &isFolder)
                    && isFolder.boolValue
            }.sorted()
        }
        do {
            try files.createDirectory(at: destination, withIntermediateDirectories: true)
        } catch {
            throw ResearchFailure("cannot make \(destination.path): \(error.localizedDescription)")
        }
        for name in folders {
            let from = source.appendingPathComponent(name)
            let to = destination.appendingPathComponent(name)
            do {
                try files.copyItem(at: from, to: to)
            } catch {
                throw ResearchFailure("cannot copy the strategy folder \(from.path): \(error.localizedDescription)")
            }
            let config = to.appendingPathComponent("config.json")
            guard !params.isEmpty else { continue }
            let text: Data
            do { text = try Data(contentsOf: config) } catch {
                throw ResearchFailure("strategy \(name) has no config.json to put the parameters in")
            }
            let merged: Data
            do { merged = try merge(params, intoConfig: text) } catch let failure {
                throw ResearchFailure("strategy \(name): \(failure.message)")
            }
            do { try merged.write(to: config, options: .atomic) } catch {
                throw ResearchFailure("cannot write \(config.path): \(error.localizedDescription)")
            }
        }
        return folders
    }
}
