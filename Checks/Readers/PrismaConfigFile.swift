/// `prisma.config.ts` (Prisma 6.x, the way to name a multi-file schema folder in Prisma 7), read statically:
/// the `schema` property of the exported config, without running the file.
enum PrismaConfigFile {
    enum SchemaPath: Equatable {
        /// No `schema` property: Prisma's defaults apply (prisma/schema.prisma, schema.prisma).
        case unset
        /// A path relative to the config file's folder (or absolute).
        case path(String)
        /// Set by an expression that cannot be evaluated without running the file.
        case unresolved(line: Int, reason: String)
    }

    static let folderPrefixes: Set<String> = ["__dirname", "import.meta.dirname"]

    /// `schema: "prisma/schema"`, `schema: 'prisma/'`, `schema: path.join("prisma", "schema")`,
    /// `schema: path.join(__dirname, "prisma")`, `schema: resolve(import.meta.dirname, "db")`.
    static func schemaPath(_ text: String) -> SchemaPath {
        let t = JSTokenizer.tokenize(text).tokens
        var depth = 0
        var k = 0
        while k < t.count {
            let tok = t[k]
            if tok.isPunct("{") { depth += 1 } else if tok.isPunct("}") { depth = max(0, depth - 1) }
            // The config object's own property (depth 1): `schema:` or `"schema":`.
            if depth == 1, tok.kind == .identifier || tok.kind == .string, tok.text == "schema",
               k + 1 < t.count, t[k + 1].isPunct(":") {
                return value(t, from: k + 2, line: tok.line)
            }
            k += 1
        }
        return .unset
    }

    static func value(_ t: JSTokens, from start: Int, line: Int) -> SchemaPath {
        guard start < t.count else { return .unresolved(line: line, reason: "no value") }
        let v = t[start]
        if v.kind == .string || v.kind == .template { return .path(v.text) }
        // path.join(…) / path.resolve(…) / join(…) / resolve(…) of literals, optionally starting at the config's folder.
        var k = start
        if v.kind == .identifier, k + 2 < t.count, t[k + 1].isPunct("."), t[k + 2].isIdent("join") || t[k + 2].isIdent("resolve") { k += 2 }
        guard k < t.count, t[k].isIdent("join") || t[k].isIdent("resolve"), k + 1 < t.count, t[k + 1].isPunct("(") else {
            return .unresolved(line: v.line, reason: "`schema:` is set by an expression (\(describe(t, from: start)))")
        }
        k += 2
        var parts: [String] = []
        while k < t.count && !t[k].isPunct(")") {
            let a = t[k]
            if a.kind == .string || a.kind == .template {
                parts.append(a.text); k += 1
            } else if a.isIdent("__dirname") && parts.isEmpty {
                k += 1
            } else if a.isIdent("import"), k + 2 < t.count, t[k + 1].isPunct("."), t[k + 2].isIdent("meta"),
                      k + 4 < t.count, t[k + 3].isPunct("."), t[k + 4].isIdent("dirname"), parts.isEmpty {
                k += 5
            } else {
                return .unresolved(line: a.line, reason: "`schema:` joins a value that is not a string (\(describe(t, from: start)))")
            }
            if k < t.count && t[k].isPunct(",") { k += 1 }
        }
        guard !parts.isEmpty else { return .unresolved(line: v.line, reason: "`schema:` names no path") }
        // A later absolute part restarts the path, as in path.join/resolve.
        var joined = ""
        for p in parts {
            if p.hasPrefix("/") { joined = p } else if joined.isEmpty { joined = p } else { joined += (joined.hasSuffix("/") ? "" : "/") + p }
        }
        return .path(joined)
    }

    static func describe(_ t: JSTokens, from start: Int) -> String {
        var out = ""
        var k = start
        while k < t.count && k < start + 8 && !t[k].isPunct(",") && !t[k].isPunct("}") {
            out += t[k].kind == .string ? "\"\(t[k].text)\"" : t[k].text
            k += 1
        }
        return out.isEmpty ? "?" : out
    }
}
