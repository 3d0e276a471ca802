import Foundation

/// How a server is told its port, in its framework's own terms, from the listener's command line
/// (`/proc/PID/cmdline`) and its process name: uvicorn `--port`, gunicorn `--bind`, Django `runserver`,
/// Node `PORT`, Spring `server.port`. Nil when neither says which server it is.
public enum PortSetting {
    public static func fix(port: Int, arguments: [String], process: String?) -> String? {
        let words = arguments.map { ($0 as NSString).lastPathComponent.lowercased() }
        let joined = words.joined(separator: " ")
        func has(_ name: String) -> Bool { words.contains { $0 == name || $0.hasPrefix(name + "-") } || (process ?? "").lowercased().hasPrefix(name) }
        if has("gunicorn") { return "gunicorn --bind 0.0.0.0:\(port)" }
        if has("uvicorn") { return "uvicorn … --port \(port)" }
        if has("hypercorn") { return "hypercorn --bind 0.0.0.0:\(port)" }
        if has("fastapi") { return "fastapi run --port \(port)" }
        if words.contains("manage.py") && joined.contains("runserver") { return "python manage.py runserver \(port)" }
        if has("java") || joined.contains(".jar") { return "Spring's server.port=\(port) (--server.port=\(port) or SERVER_PORT=\(port))" }
        if has("node") || has("bun") || has("deno") || has("nest") { return "PORT=\(port) in its environment (Node reads process.env.PORT)" }
        if has("rails") || has("puma") { return "puma -p \(port) (rails server -p \(port))" }
        return nil
    }
}
