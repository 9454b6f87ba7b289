import DeskCore

/// The most a deployed strategy folder may hold; the config file's
/// `strategies.upload` sets them (`max_files`, `max_bytes`).
public struct ArchiveLimits: Sendable, Equatable {
    /// Files and folders in the archive.
    public var maxEntries: Int
    /// The archive's size, and so the files' total size, in bytes.
    public var maxBytes: Int

    public init(maxEntries: Int = 1000, maxBytes: Int = 16 << 20) {
        self.maxEntries = maxEntries
        self.maxBytes = maxBytes
    }
}

/// One file or folder of a strategy archive, at a path that stays inside the
/// strategy's folder (no `..`, not absolute).
public struct ArchiveEntry: Sendable, Equatable {
    public enum Kind: Sendable, Equatable { case file, folder }
    /// Components joined by `/`, relative to the strategy's folder.
    public var path: String
    public var kind: Kind
    public var contents: [UInt8]

    public init(path: String, kind: Kind, contents: [UInt8] = []) {
        self.path = path
        self.kind = kind
        self.contents = contents
    }
}

/// A strategy folder as an uncompressed tar (POSIX ustar, with pax or GNU long
/// names): read with every check a hostile member calls for, and written by the
/// CLI and the web page. Only regular files and folders are read; a link, a
/// device, a FIFO, a path that is absolute or climbs out with `..`, a name given
/// twice, too many entries or too many bytes refuse the whole archive. Pure:
/// nothing touches the disk here.
public enum StrategyArchive {
    static let block = 512

    /// The entries of `bytes`, checked. When every entry sits in one top folder
    /// and there is no `strategy.py` at the top (`tar -cf x.tar mystrategy/`),
    /// that folder is taken as the strategy's folder.
    public static func read(_ bytes: [UInt8], limits: ArchiveLimits) throws(DeployProblem) -> [ArchiveEntry] {
        guard bytes.count <= limits.maxBytes else {
            throw DeployProblem(
                .tooLarge, "the archive is \(bytes.count) bytes; at most \(limits.maxBytes) are allowed")
        }
        if bytes.starts(with: [0x1f, 0x8b]) {
            throw DeployProblem(.invalid, "the archive is gzip-compressed: send an uncompressed tar (tar -cf)")
        }
        if bytes.starts(with: [0x50, 0x4b, 0x03, 0x04]) {
            throw DeployProblem(.invalid, "the archive is a zip file: send an uncompressed tar (tar -cf)")
        }
        var entries: [ArchiveEntry] = []
        var seen: [String: ArchiveEntry.Kind] = [:]
        var offset = 0
        var longName: String?
        var sawEnd = false
        while offset + block <= bytes.count {
            let header = Array(bytes[offset..<offset + block])
            if header.allSatisfy({ $0 == 0 }) {
                sawEnd = true
                break
            }
            try checkChecksum(header, at: offset)
            let size = try number(header[124..<136], field: "size", at: offset)
            let type = header[156]
            let dataStart = offset + block
            guard size <= bytes.count - dataStart else {
                throw DeployProblem(.invalid, "the archive ends inside an entry (at byte \(offset)): it is cut short")
            }
            let data = Array(bytes[dataStart..<dataStart + size])
            offset = dataStart + (size + block - 1) / block * block
            var name = longName ?? ustarName(header)
            switch type {
            case UInt8(ascii: "x"):
                longName = try paxPath(data, at: dataStart)
                continue
            case UInt8(ascii: "g"):
                continue
            case UInt8(ascii: "L"):
                longName = text(data)
                continue
            default:
                longName = nil
            }
            let kind: ArchiveEntry.Kind
            switch type {
            case 0, UInt8(ascii: "0"), UInt8(ascii: "7"): kind = .file
            case UInt8(ascii: "5"): kind = .folder
            case UInt8(ascii: "1"), UInt8(ascii: "2"):
                throw DeployProblem(
                    .invalid,
                    "\(OrderValidation.quoted(name)) is a \(type == UInt8(ascii: "1") ? "hard" : "symbolic") link; a strategy folder holds only files and folders"
                )
            case UInt8(ascii: "3"), UInt8(ascii: "4"), UInt8(ascii: "6"):
                throw DeployProblem(
                    .invalid,
                    "\(OrderValidation.quoted(name)) is a device or FIFO; a strategy folder holds only files and folders"
                )
            default:
                throw DeployProblem(
                    .invalid,
                    "\(OrderValidation.quoted(name)) has tar entry type \(OrderValidation.quoted(String(UnicodeScalar(type)))); only files and folders are allowed"
                )
            }
            if name.hasSuffix("/") && kind == .folder { name.removeLast() }
            let path = try checkedPath(name)
            if path.isEmpty { continue }  // "./" itself
            if let earlier = seen[path] {
                if earlier == .folder && kind == .folder { continue }
                throw DeployProblem(.invalid, "\(OrderValidation.quoted(path)) is in the archive twice")
            }
            seen[path] = kind
            entries.append(ArchiveEntry(path: path, kind: kind, contents: kind == .file ? data : []))
            guard entries.count <= limits.maxEntries else {
                throw DeployProblem(
                    .tooLarge, "the archive holds more than \(limits.maxEntries) files and folders, the most allowed")
            }
        }
        if !sawEnd && offset != bytes.count {
            throw DeployProblem(.invalid, "the archive is not a tar file (it ends in a partial block)")
        }
        guard !entries.isEmpty else {
            throw DeployProblem(
                .invalid, "the archive is empty or not a tar file; send a tar of a folder holding strategy.py")
        }
        // A file inside a path that is also a file: "a" and "a/b".
        for entry in entries {
            var parent = entry.path
            while let slash = parent.lastIndex(of: "/") {
                parent = String(parent[..<slash])
                if seen[parent] == .file {
                    throw DeployProblem(
                        .invalid, "\(OrderValidation.quoted(parent)) is a file and a folder in the archive")
                }
            }
        }
        return strippingTopFolder(entries)
    }

    /// `entries` without their common top folder, when the strategy is inside one.
    static func strippingTopFolder(_ entries: [ArchiveEntry]) -> [ArchiveEntry] {
        guard !entries.contains(where: { $0.path == "strategy.py" }),
            let top = entries.first.map({ String($0.path.split(separator: "/")[0]) }),
            entries.allSatisfy({ $0.path == top || $0.path.hasPrefix(top + "/") }),
            entries.contains(where: { $0.path == top + "/strategy.py" })
        else { return entries }
        return entries.filter { $0.path != top }.map {
            ArchiveEntry(path: String($0.path.dropFirst(top.count + 1)), kind: $0.kind, contents: $0.contents)
        }
    }

    /// A tar path as components inside the folder: `./a//b` is `a/b`; absolute
    /// paths, `..`, NUL, backslashes and over-long names are refused.
    static func checkedPath(_ name: String) throws(DeployProblem) -> String {
        if name.hasPrefix("/") {
            throw DeployProblem(
                .invalid,
                "\(OrderValidation.quoted(name)) is an absolute path; paths in the archive are relative to the strategy's folder"
            )
        }
        var parts: [Substring] = []
        for part in name.split(separator: "/", omittingEmptySubsequences: true) where part != "." {
            if part == ".." {
                throw DeployProblem(
                    .invalid,
                    "\(OrderValidation.quoted(name)) climbs out of the strategy's folder with \"..\"; it is not allowed"
                )
            }
            if part.contains("\0") || part.contains("\\") {
                throw DeployProblem(
                    .invalid, "\(OrderValidation.quoted(name)) has a NUL or backslash in its name")
            }
            parts.append(part)
        }
        let path = parts.joined(separator: "/")
        guard path.utf8.count <= 255, parts.allSatisfy({ $0.utf8.count <= 100 }) else {
            throw DeployProblem(.invalid, "\(OrderValidation.quoted(name)) is longer than 255 bytes")
        }
        return path
    }

    static func checkChecksum(_ header: [UInt8], at offset: Int) throws(DeployProblem) {
        let stored = try number(header[148..<156], field: "checksum", at: offset)
        var sum = 0
        for (index, byte) in header.enumerated() { sum += (148..<156).contains(index) ? 32 : Int(byte) }
        guard sum == stored else {
            throw DeployProblem(.invalid, "the archive is not a tar file (bad header checksum at byte \(offset))")
        }
    }

    /// An octal field (NUL- or space-terminated); base-256 sizes are refused as too large.
    static func number(_ field: ArraySlice<UInt8>, field name: String, at offset: Int) throws(DeployProblem) -> Int {
        if let first = field.first, first & 0x80 != 0 {
            throw DeployProblem(.tooLarge, "an entry at byte \(offset) is larger than 8 GB")
        }
        var value = 0
        var digits = 0
        for byte in field {
            if byte == 0 || byte == UInt8(ascii: " ") {
                if digits > 0 { break } else { continue }
            }
            guard (UInt8(ascii: "0")...UInt8(ascii: "7")).contains(byte), digits < 12 else {
                throw DeployProblem(
                    .invalid, "the archive is not a tar file (its \(name) field at byte \(offset) is not a number)")
            }
            value = value * 8 + Int(byte - UInt8(ascii: "0"))
            digits += 1
        }
        return value
    }

    static func text(_ bytes: some Collection<UInt8>) -> String {
        String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
    }

    /// ustar's `prefix/name`.
    static func ustarName(_ header: [UInt8]) -> String {
        let name = text(header[0..<100])
        let isUstar = header[257..<262].elementsEqual(Array("ustar".utf8))
        let prefix = isUstar ? text(header[345..<500]) : ""
        return prefix.isEmpty ? name : prefix + "/" + name
    }

    /// The `path` record of a pax extended header (`"27 path=a/very/long/name\n"`).
    static func paxPath(_ data: [UInt8], at offset: Int) throws(DeployProblem) -> String? {
        var path: String?
        var index = 0
        while index < data.count {
            guard let space = data[index...].firstIndex(of: UInt8(ascii: " ")),
                let length = Int(String(decoding: data[index..<space], as: UTF8.self)), length > 0,
                index + length <= data.count
            else {
                throw DeployProblem(.invalid, "the archive has a malformed pax header at byte \(offset)")
            }
            let record = String(decoding: data[(space + 1)..<(index + length - 1)], as: UTF8.self)
            if record.hasPrefix("path=") { path = String(record.dropFirst(5)) }
            if record.hasPrefix("linkpath=") || record.hasPrefix("size=") {
                throw DeployProblem(
                    .invalid,
                    "the archive uses pax \(record.split(separator: "=")[0]) records, which are not allowed")
            }
            index += length
        }
        return path
    }

    // MARK: Writing

    /// A ustar archive of `entries` (folders before what they hold), with a pax
    /// header for paths longer than 100 bytes.
    public static func write(_ entries: [ArchiveEntry]) -> [UInt8] {
        var archive: [UInt8] = []
        for entry in entries {
            let name = entry.kind == .folder ? entry.path + "/" : entry.path
            if name.utf8.count > 100 {
                let record = paxRecord("path", name)
                archive += header(name: "././@PaxHeader", size: record.count, type: UInt8(ascii: "x"), mode: 0o644)
                archive += padded(record)
            }
            let size = entry.kind == .file ? entry.contents.count : 0
            archive += header(
                name: String(decoding: Array(name.utf8).prefix(100), as: UTF8.self), size: size,
                type: entry.kind == .file ? UInt8(ascii: "0") : UInt8(ascii: "5"),
                mode: entry.kind == .file ? 0o644 : 0o755)
            if entry.kind == .file { archive += padded(entry.contents) }
        }
        return archive + [UInt8](repeating: 0, count: 2 * block)
    }

    static func paxRecord(_ key: String, _ value: String) -> [UInt8] {
        let body = " \(key)=\(value)\n"
        var length = body.utf8.count + 1
        while "\(length)\(body)".utf8.count != length { length += 1 }
        return Array("\(length)\(body)".utf8)
    }

    static func padded(_ bytes: [UInt8]) -> [UInt8] {
        bytes + [UInt8](repeating: 0, count: (block - bytes.count % block) % block)
    }

    static func header(name: String, size: Int, type: UInt8, mode: Int) -> [UInt8] {
        var header = [UInt8](repeating: 0, count: block)
        func put(_ text: String, at start: Int, width: Int) {
            for (index, byte) in Array(text.utf8).prefix(width).enumerated() { header[start + index] = byte }
        }
        func octal(_ value: Int, width: Int) -> String {
            let digits = String(value, radix: 8)
            return String(repeating: "0", count: max(0, width - 1 - digits.count)) + digits
        }
        put(name, at: 0, width: 100)
        put(octal(mode, width: 8), at: 100, width: 7)
        put(octal(0, width: 8), at: 108, width: 7)
        put(octal(0, width: 8), at: 116, width: 7)
        put(octal(size, width: 12), at: 124, width: 11)
        put(octal(0, width: 12), at: 136, width: 11)
        header[156] = type
        put("ustar", at: 257, width: 6)
        put("00", at: 263, width: 2)
        for index in 148..<156 { header[index] = UInt8(ascii: " ") }
        let sum = header.reduce(0) { $0 + Int($1) }
        put(octal(sum, width: 7), at: 148, width: 6)
        header[154] = 0
        header[155] = UInt8(ascii: " ")
        return header
    }
}
