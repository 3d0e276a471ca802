import Foundation
import PreflightCore
import PreflightProbes

// What the schema check reads from the project on disk (schema.prisma or its folder, the sources, the
// generated client, the build output) and the findings it makes from them, before any database is asked.

/// One thing found; `kind` orders them by importance.
struct SchemaFinding: Sendable, Equatable {
    enum Kind: Int, Sendable, Comparable {
        case syntax, table, column, enumType, code, client, build, buildAge, noModels
        /// Warnings: the rest fail.
        var isWarning: Bool { self == .buildAge || self == .noModels }
        static func < (a: Kind, b: Kind) -> Bool { a.rawValue < b.rawValue }
        var name: String {
            switch self {
            case .syntax: "syntax"
            case .table: "table"
            case .column: "column"
            case .enumType: "enum"
            case .code: "code"
            case .client: "client"
            case .build: "build"
            case .buildAge: "build-age"
            case .noModels: "no-models"
            }
        }
    }
    /// What the database lacks, when the finding is a missing table, column or enum type.
    enum Missing: Sendable, Equatable {
        case table(String)
        case column(table: String, column: String)
        case enumType(String)
    }
    var kind: Kind
    var message: String
    /// "file:line" as the readers write it.
    var location: String?
    var fix: String
    var missing: Missing? = nil

    /// `location` as data.
    var sourceLocation: SourceLocation? { location.map(SourceLocation.init(written:)) }
}

/// What the static inspection found, before the live comparison adds to it.
struct SchemaReport: Sendable {
    var schema: PrismaSchema?
    var findings: [SchemaFinding] = []
    var evidence = Evidence()
    /// "4 models in schema.prisma", and what they were compared with besides the database.
    var subject = ""
    var compared: [String] = []
    var comparedDatabase = false
    /// The generated client's schema.prisma matched (or differed in comments and layout only).
    var comparedClient = false
    /// The build output was read.
    var comparedBuild = false
    /// Every failure is something a migration in the project adds (see `SchemaCheck.explain`).
    var suspectMigrations = false

    func summary(comparedDatabase: Bool) -> String {
        let with = (comparedDatabase ? ["the database"] : []) + compared
        if with.isEmpty { return "\(subject) parse" }
        let list = with.count == 1 ? with[0] : with.dropLast().joined(separator: ", ") + " and " + with.last!
        return "\(subject) \(comparedDatabase ? "match" : "parse and match") \(list)"
    }
}

/// Where Prisma looks for the schema in a project folder when nothing names it: the one list, read by the schema
/// check (next to a prisma.config.ts that sets no `schema`) and by `preflight init`.
public enum PrismaSchemaLocation {
    /// Prisma's config file names, in the order they are looked for.
    public static let configFiles = ["prisma.config.ts", "prisma.config.mts", "prisma.config.cts", "prisma.config.js", "prisma.config.mjs", "prisma.config.cjs"]
    /// Prisma's default locations, in its order; `prisma/schema` is the multi-file folder (`prismaSchemaFolder`).
    public static let defaults = ["prisma/schema.prisma", "schema.prisma", "prisma/schema"]

    /// The first default location that exists in `folder`, relative to it.
    public static func firstDefault(in folder: String) -> String? {
        defaults.first { FileManager.default.fileExists(atPath: (folder as NSString).appendingPathComponent($0)) }
    }

    /// What a project folder names as its schema: its Prisma config file, else the first default location.
    public static func find(in folder: String) -> String? {
        configFiles.first { FileManager.default.fileExists(atPath: (folder as NSString).appendingPathComponent($0)) } ?? firstDefault(in: folder)
    }
}

/// The project on disk: schema.prisma, sources, generated client, build output.
struct SchemaProject: Sendable {
    let base: URL
    let prismaPath: String
    let sources: [String]
    let build: String?
    let client: String
    let clientConfigured: Bool

    static let maxFiles = 20_000
    static let maxFileBytes = 4 << 20

    init(settings: SchemaSettings, prisma: String, configFile: String?) {
        let cwd = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        let root = configFile.map { URL(fileURLWithPath: $0, relativeTo: cwd).deletingLastPathComponent() } ?? cwd
        base = root
        func resolve(_ p: String) -> String { p.hasPrefix("/") ? p : root.appendingPathComponent(p).standardizedFileURL.path }
        prismaPath = resolve(prisma)
        sources = settings.sources.map(resolve)
        build = settings.build.map(resolve)
        client = resolve(settings.client ?? "node_modules/.prisma/client")
        clientConfigured = settings.client != nil
    }

    /// A path relative to the project folder when it lies inside it.
    func display(_ path: String) -> String {
        let root = base.standardizedFileURL.path
        let prefix = root.hasSuffix("/") ? root : root + "/"
        return path.hasPrefix(prefix) ? String(path.dropFirst(prefix.count)) : path
    }

    /// Where the schema lives: one file, or a folder of `.prisma` files (a multi-file schema, `prismaSchemaFolder`).
    struct Location: Sendable {
        /// The file or folder.
        var path: String
        var files: [String]
        var isFolder: Bool
        /// `prisma.config.ts` when the path came from it.
        var via: String?
    }

    enum Located { case success(Location), failure(SchemaFinding) }

    static let maxSchemaFiles = 2_000
    static let configFileNames = Set(PrismaSchemaLocation.configFiles)

    /// schema.prisma (a file, a folder, or a prisma.config.ts) → the `.prisma` files to read.
    func locate() -> Located {
        var path = prismaPath
        var via: String?
        let name = (path as NSString).lastPathComponent
        if Self.configFileNames.contains(name) || (name.hasPrefix("prisma.config.") && !Self.isDirectory(path)) {
            guard let text = Self.read(path) else {
                return .failure(SchemaFinding(kind: .syntax, message: "\(display(path)) cannot be read (missing?)", location: nil,
                                              fix: "set schema.prisma to your prisma.config.ts, schema.prisma or schema folder"))
            }
            via = display(path)
            let folder = (path as NSString).deletingLastPathComponent
            switch PrismaConfigFile.schemaPath(text) {
            case .path(let p):
                path = p.hasPrefix("/") ? p : URL(fileURLWithPath: folder).appendingPathComponent(p).standardizedFileURL.path
            case .unset:
                // Prisma's defaults, next to the config file.
                guard let found = PrismaSchemaLocation.firstDefault(in: folder).map({ (folder as NSString).appendingPathComponent($0) }) else {
                    return .failure(SchemaFinding(kind: .syntax, message: "\(display(prismaPath)) sets no schema and none of \(PrismaSchemaLocation.defaults.joined(separator: ", ")) exists next to it",
                                                  location: display(prismaPath), fix: "set `schema:` in prisma.config.ts, or schema.prisma in preflight.yml to the schema file or folder"))
                }
                path = found
            case .unresolved(let line, let reason):
                return .failure(SchemaFinding(kind: .syntax, message: "the schema path in \(display(prismaPath)) could not be read statically (\(reason))",
                                              location: "\(display(prismaPath)):\(line)",
                                              fix: "set schema.prisma in preflight.yml to the schema file or folder (preflight does not run prisma.config.ts)"))
            }
        }
        if Self.isDirectory(path) {
            let files = Self.schemaFiles(under: path)
            guard !files.isEmpty else {
                return .failure(SchemaFinding(kind: .syntax, message: "\(display(path)) holds no .prisma file\(via.map { " (the schema of \($0))" } ?? "")",
                                              location: nil, fix: "set schema.prisma to the folder that holds your .prisma files"))
            }
            return .success(Location(path: path, files: files, isFolder: true, via: via))
        }
        return .success(Location(path: path, files: [path], isFolder: false, via: via))
    }

    func inspect() -> SchemaReport {
        var report = SchemaReport()
        report.evidence["prisma"] = .string(display(prismaPath))
        let location: Location
        switch locate() {
        case .failure(let finding):
            report.findings.append(finding)
            return report
        case .success(let l): location = l
        }
        if location.via != nil || location.isFolder {
            report.evidence["prisma"] = .string(display(location.path) + (location.via.map { " (from \($0))" } ?? ""))
        }
        if location.isFolder { report.evidence["schemaFiles"] = .int(location.files.count) }
        var parts: [(name: String, text: String)] = []
        for file in location.files {
            guard let text = Self.read(file) else {
                report.findings.append(SchemaFinding(kind: .syntax, message: "\(display(file)) cannot be read (missing?)",
                                                     location: nil, fix: "set schema.prisma to the path of your schema.prisma or schema folder"))
                return report
            }
            parts.append((display(file), text))
        }
        let text = parts.map(\.text).joined(separator: "\n")
        let schema = PrismaSchema.parse(files: parts)
        report.schema = schema
        for p in schema.problems {
            report.findings.append(SchemaFinding(kind: .syntax, message: "schema.prisma does not parse: \(p.message)",
                                                 location: "\(p.file ?? display(location.path)):\(p.line)", fix: "fix the syntax (npx prisma validate shows the same line)"))
        }
        let models = schema.models.filter { $0.kind != .type }
        report.evidence["models"] = .int(models.count)
        report.evidence["enums"] = .int(schema.enums.count)
        guard schema.problems.isEmpty else { return report }
        if models.isEmpty {
            let read = location.isFolder ? "\(location.files.count) .prisma files in \(display(location.path))" : display(location.path)
            report.findings.append(SchemaFinding(kind: .noModels, message: "\(read) declare\(location.isFolder ? "" : "s") no model: nothing was compared",
                                                 location: nil, fix: "point schema.prisma at the file or folder that holds your models"))
        }

        // Code against the schema.
        let scanner = PrismaCodeScanner(schema: schema)
        var sourceFindings: [PrismaCodeFinding] = []
        var calls = 0, files = 0
        var newestSource: (Date, String)?
        for folder in sources {
            guard FileManager.default.fileExists(atPath: folder) else {
                report.findings.append(SchemaFinding(kind: .code, message: "sources folder \(display(folder)) does not exist", location: nil,
                                                     fix: "correct schema.sources"))
                continue
            }
            for file in Self.codeFiles(under: folder) {
                files += 1
                if let date = Self.modified(file), newestSource.map({ date > $0.0 }) ?? true { newestSource = (date, file) }
                guard let code = Self.read(file) else { continue }
                let r = scanner.scan(code, file: display(file))
                calls += r.calls
                sourceFindings += r.findings
            }
        }
        if !sources.isEmpty { report.evidence["sources"] = .string("\(files) files, \(calls) Prisma calls") }
        for f in sourceFindings {
            report.findings.append(SchemaFinding(kind: .code, message: codeMessage(f), location: f.location,
                                                 fix: "use the field names of schema.prisma in the code\(f.suggestion.map { " (\($0))" } ?? ""), then rebuild"))
        }

        // The generated client's copy of the schema.
        let clientSchema = (client as NSString).appendingPathComponent("schema.prisma")
        if let copy = Self.read(clientSchema) {
            if copy == text {
                report.evidence["client"] = .string("\(display(clientSchema)) matches")
                report.comparedClient = true
            } else if let difference = Self.difference(generated: PrismaSchema.parse(copy), current: schema) {
                report.findings.append(SchemaFinding(
                    kind: .client, message: "the generated client is stale: \(difference.text)",
                    location: "\(display(clientSchema)):\(difference.line)",
                    fix: "run prisma generate (npx prisma generate), then rebuild and restart the service"))
            } else {
                report.evidence["client"] = .string("\(display(clientSchema)) differs from schema.prisma in comments or layout only")
                report.comparedClient = true
            }
        } else {
            report.evidence["client"] = .string("\(display(clientSchema)) not found\(clientConfigured ? "" : " (not compared)")")
            if clientConfigured {
                report.findings.append(SchemaFinding(kind: .client, message: "\(display(clientSchema)) does not exist", location: nil,
                                                     fix: "run prisma generate, or correct schema.client"))
            }
        }

        // The build output: stale field names, or older than the sources.
        if let build {
            guard FileManager.default.fileExists(atPath: build) else {
                report.evidence["build"] = .string("\(display(build)) does not exist")
                return finish(report, schema: schema, location: location)
            }
            let inSources = Set(sourceFindings.map { "\($0.model).\($0.key)" })
            var newestBuild: Date?
            var buildFiles = 0
            for file in Self.codeFiles(under: build, javascriptOnly: true) {
                buildFiles += 1
                if let date = Self.modified(file), newestBuild.map({ date > $0 }) ?? true { newestBuild = date }
                guard let code = Self.read(file) else { continue }
                for f in scanner.scan(code, file: display(file)).findings {
                    let also = inSources.contains("\(f.model).\(f.key)")
                    let hint = f.suggestion.map { " (\(f.model) has `\($0)`)" } ?? ""
                    report.findings.append(SchemaFinding(
                        kind: .build,
                        message: "rebuild: \(f.location) still uses `\(f.key)` on \(f.model)\(hint)\(also ? "" : "; the sources no longer do")",
                        location: f.location,
                        fix: also ? "fix the sources first, then delete \(display(build)) and rebuild"
                                  : "delete \(display(build)) and rebuild (npm run build), then restart the service"))
                }
            }
            report.evidence["build"] = .string("\(display(build)): \(buildFiles) files")
            report.comparedBuild = true
            if let newestBuild, let (date, file) = newestSource, date > newestBuild.addingTimeInterval(1) {
                report.findings.append(SchemaFinding(
                    kind: .buildAge,
                    message: "\(display(build)) is older than the sources (\(display(file)) changed after the last build)",
                    location: display(file), fix: "rebuild (npm run build) and restart the service before the load test"))
            }
        }
        return finish(report, schema: schema, location: location)
    }

    func finish(_ report: SchemaReport, schema: PrismaSchema, location: Location) -> SchemaReport {
        var r = report
        let models = schema.models.filter { $0.kind != .type }.count
        r.subject = "\(models) models in \(display(location.path))\(location.isFolder ? " (\(location.files.count) files)" : "")"
        if !sources.isEmpty { r.compared.append("the code") }
        if r.comparedClient { r.compared.append("the generated client") }
        if r.comparedBuild { r.compared.append("the build") }
        return r
    }

    func codeMessage(_ f: PrismaCodeFinding) -> String {
        let hint = f.suggestion.map { "; did you mean `\($0)`?" } ?? ""
        return "`\(f.key)` is not a field of \(f.model) (\(f.argument) in \(f.call))\(hint)"
    }

    /// The first model or enum difference that matters to the generated client, with its line in the generated copy.
    static func difference(generated: PrismaSchema, current: PrismaSchema) -> (text: String, line: Int)? {
        for model in generated.models {
            guard let now = current.model(named: model.name) else {
                return ("it has model \(model.name), which schema.prisma no longer has", model.line)
            }
            for field in model.fields where now.field(field.name) == nil {
                let hint = suggest(field.name, in: now).map { ", schema.prisma has `\(model.name).\($0)`" } ?? ""
                return ("it has `\(model.name).\(field.name)`\(hint)", field.line)
            }
            for field in model.fields {
                let n = now.field(field.name)!
                if n.type != field.type || n.isList != field.isList || n.isOptional != field.isOptional || n.columnName != field.columnName {
                    return ("`\(model.name).\(field.name)` differs (\(field.type) → \(n.type), column \(field.columnName) → \(n.columnName))", field.line)
                }
            }
            for field in now.fields where model.field(field.name) == nil {
                return ("it lacks `\(model.name).\(field.name)`, which schema.prisma has", model.line)
            }
            if model.tableName != now.tableName { return ("model \(model.name) maps to \(model.tableName), schema.prisma says \(now.tableName)", model.line) }
        }
        for model in current.models where generated.model(named: model.name) == nil {
            return ("it lacks model \(model.name)", 1)
        }
        for e in current.enums {
            let old = generated.enumType(named: e.name)
            if old?.values.map(\.label) != e.values.map(\.label) {
                return ("enum \(e.name) differs", old?.line ?? 1)
            }
        }
        return nil
    }

    static func read(_ path: String) -> String? {
        guard let h = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? h.close() }
        guard let data = try? h.read(upToCount: maxFileBytes) else { return nil }
        return String(decoding: data, as: UTF8.self)
    }

    static func isDirectory(_ path: String) -> Bool {
        var isDir: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDir) && isDir.boolValue
    }

    /// The `.prisma` files of a schema folder and its subfolders (Prisma reads them all), sorted, bounded;
    /// node_modules, hidden folders and migrations left out.
    static func schemaFiles(under folder: String) -> [String] {
        guard let walker = FileManager.default.enumerator(atPath: folder) else { return [] }
        var files: [String] = []
        while let rel = walker.nextObject() as? String {
            let name = (rel as NSString).lastPathComponent
            if name == "node_modules" || name.hasPrefix(".") || name == "migrations" { walker.skipDescendants(); continue }
            guard name.hasSuffix(".prisma") else { continue }
            files.append((folder as NSString).appendingPathComponent(rel))
            if files.count >= maxSchemaFiles { break }
        }
        return files.sorted()
    }

    static func modified(_ path: String) -> Date? {
        (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date
    }

    /// TypeScript/JavaScript files under a folder (node_modules and hidden folders left out), sorted, bounded.
    static func codeFiles(under folder: String, javascriptOnly: Bool = false) -> [String] {
        let extensions: Set<String> = javascriptOnly ? ["js", "cjs", "mjs"] : ["ts", "tsx", "mts", "cts", "js", "jsx", "cjs", "mjs"]
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDir) else { return [] }
        if !isDir.boolValue { return [folder] }
        guard let walker = FileManager.default.enumerator(atPath: folder) else { return [] }
        var files: [String] = []
        while let rel = walker.nextObject() as? String {
            let name = (rel as NSString).lastPathComponent
            if name == "node_modules" || name.hasPrefix(".") { walker.skipDescendants(); continue }
            let ext = (name as NSString).pathExtension
            guard extensions.contains(ext), !name.hasSuffix(".d.ts") else { continue }
            files.append((folder as NSString).appendingPathComponent(rel))
            if files.count >= maxFiles { break }
        }
        return files.sorted()
    }
}
