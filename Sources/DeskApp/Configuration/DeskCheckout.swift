import Foundation

/// The desk's source checkout, found from where the running `desk` executable
/// is (`<checkout>/.build/debug/desk`), so that defaults such as the strategies'
/// `PYTHONPATH` do not depend on the folder a command is run from.
public enum DeskCheckout {
    /// The Python client inside a checkout: what marks a folder as one.
    static let clientFolder = "clients/python/desk_client"

    /// The running executable (`/proc/self/exe` on Linux), symbolic links resolved.
    public static var executable: URL {
        if let path = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            return URL(fileURLWithPath: path)
        }
        return URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
    }

    /// The nearest folder at or above `start` that holds `clients/python/desk_client`.
    public static func root(searchingUpFrom start: URL) -> URL? {
        var folder = start.standardizedFileURL
        while true {
            if FileManager.default.fileExists(atPath: folder.appendingPathComponent(clientFolder).path) {
                return folder
            }
            let parent = folder.deletingLastPathComponent()
            if parent.path == folder.path { return nil }
            folder = parent
        }
    }

    /// The checkout the executable was built in, else the one holding the current folder.
    public static func locate(
        executable: URL = executable,
        currentDirectory: URL = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
    ) -> URL? {
        root(searchingUpFrom: executable.deletingLastPathComponent()) ?? root(searchingUpFrom: currentDirectory)
    }

    /// `<checkout>/.venv/strategy-site:<checkout>/clients/python` (the client's
    /// dependencies from `scripts/python-env.sh`, and the client), then
    /// `<checkout>/.venv/alpaca-site` when it exists (alpaca-py, which the same
    /// script installs for the alpaca-py example), with a sentence saying how it was
    /// found; relative to the current folder when no checkout is found.
    public static func defaultPythonPath(checkout: URL?) -> (pythonPath: String, how: String) {
        let base = checkout ?? URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        let alpaca = base.appendingPathComponent(".venv/alpaca-site").path
        let path =
            ([
                base.appendingPathComponent(".venv/strategy-site").path,
                base.appendingPathComponent("clients/python").path,
            ] + (FileManager.default.fileExists(atPath: alpaca) ? [alpaca] : [])).joined(separator: ":")
        if let checkout {
            return (path, "from the desk's checkout at \(checkout.path), found from where the desk executable is")
        }
        return (
            path,
            "relative to the current folder: no checkout holding \(clientFolder) was found above the desk executable or here; pass --python-path or set DESK_PYTHONPATH"
        )
    }
}
