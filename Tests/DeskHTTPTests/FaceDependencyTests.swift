import Foundation
import Testing

/// The faces (HTTP and the CLI) depend only on the use-case layer (issue 24): no
/// file of theirs imports the engines, and the package does not list them as
/// their dependencies. SwiftPM lets a target import what its dependencies depend on,
/// so the compiler alone would not catch a new `import DeskLedger`.
@Suite("DeskHTTP and DeskCLI are faces: they import no engine")
struct FaceDependencyTests {
    static let engines = ["DeskLedger", "DeskOrders"]
    static let faces = ["DeskHTTP", "DeskCLI"]
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    @Test("no DeskHTTP or DeskCLI source file imports DeskLedger or DeskOrders", arguments: faces)
    func sourcesImportNoEngine(face: String) throws {
        let sources = Self.root.appendingPathComponent("Sources/\(face)")
        let files = try #require(FileManager.default.enumerator(at: sources, includingPropertiesForKeys: nil))
            .compactMap { $0 as? URL }.filter { $0.pathExtension == "swift" }
        #expect(files.count > 10)
        for file in files {
            let lines = try String(contentsOf: file, encoding: .utf8).split(separator: "\n")
            for engine in Self.engines {
                #expect(
                    !lines.contains { $0.hasSuffix("import \(engine)") }, "\(file.lastPathComponent) imports \(engine)")
            }
        }
    }

    @Test("Package.swift does not list DeskLedger or DeskOrders among a face's dependencies", arguments: faces)
    func packageListsNoEngine(face: String) throws {
        let manifest = try String(contentsOf: Self.root.appendingPathComponent("Package.swift"), encoding: .utf8)
        let start = try #require(manifest.range(of: "name: \"\(face)\","))
        let end = try #require(manifest.range(of: "]", range: start.upperBound..<manifest.endIndex))
        let dependencies = manifest[start.upperBound..<end.lowerBound]
        #expect(dependencies.contains("\"DeskServices\""))
        for engine in Self.engines { #expect(!dependencies.contains("\"\(engine)\""), "\(face) depends on \(engine)") }
    }
}
