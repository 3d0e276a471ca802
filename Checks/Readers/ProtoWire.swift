import Foundation

/// The protobuf wire format, as far as the grpc check needs it: the few messages of gRPC's health and reflection
/// services, written and read by hand (varints and length-delimited fields), and a `FileDescriptorProto`'s services
/// and methods. Every reading is bounded and total: hostile bytes give `nil` or an error text, never a trap.
public enum ProtoWire {
    public enum Field: Equatable {
        case varint(UInt64)
        case bytes([UInt8])
        case fixed64, fixed32
    }

    /// Fields of one message, in order (number, value); nil when the bytes are not a protobuf message.
    public static func fields(_ bytes: [UInt8], limit: Int = 100_000) -> [(Int, Field)]? {
        var out: [(Int, Field)] = []
        var i = 0
        while i < bytes.count {
            guard out.count < limit, let key = varint(bytes, &i) else { return nil }
            let number = Int(truncatingIfNeeded: key >> 3)
            guard number > 0, number < 1 << 29 else { return nil }
            switch key & 7 {
            case 0:
                guard let v = varint(bytes, &i) else { return nil }
                out.append((number, .varint(v)))
            case 1:
                guard bytes.count - i >= 8 else { return nil }
                i += 8; out.append((number, .fixed64))
            case 2:
                guard let n = varint(bytes, &i), n <= UInt64(bytes.count - i) else { return nil }
                out.append((number, .bytes(Array(bytes[i..<(i + Int(n))]))))
                i += Int(n)
            case 5:
                guard bytes.count - i >= 4 else { return nil }
                i += 4; out.append((number, .fixed32))
            default: return nil
            }
        }
        return out
    }

    static func varint(_ b: [UInt8], _ i: inout Int) -> UInt64? {
        var v: UInt64 = 0
        for shift in stride(from: 0, to: 70, by: 7) {
            guard i < b.count else { return nil }
            let byte = b[i]; i += 1
            if shift == 63 && byte > 1 { return nil }
            v |= UInt64(byte & 0x7f) << UInt64(shift)
            if byte & 0x80 == 0 { return v }
        }
        return nil
    }

    static func appendVarint(_ v: UInt64, to out: inout [UInt8]) {
        var v = v
        while v >= 0x80 { out.append(UInt8(v & 0x7f) | 0x80); v >>= 7 }
        out.append(UInt8(v))
    }

    /// A length-delimited field (strings, bytes, messages).
    public static func field(_ number: Int, _ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        appendVarint(UInt64(number << 3 | 2), to: &out)
        appendVarint(UInt64(bytes.count), to: &out)
        return out + bytes
    }
    public static func field(_ number: Int, _ text: String) -> [UInt8] { field(number, Array(text.utf8)) }

    static func string(_ f: Field) -> String? {
        guard case .bytes(let b) = f else { return nil }
        return String(bytes: b, encoding: .utf8)
    }

    // MARK: - gRPC framing

    /// One gRPC message on the wire: uncompressed flag, 4-byte big-endian length, the message.
    public static func frame(_ message: [UInt8]) -> [UInt8] {
        let n = UInt32(message.count)
        return [0, UInt8(n >> 24), UInt8(n >> 16 & 0xff), UInt8(n >> 8 & 0xff), UInt8(n & 0xff)] + message
    }

    /// The messages of a gRPC response body; nil when a frame is cut, compressed or larger than `cap`.
    public static func unframe(_ body: [UInt8], cap: Int = 4 << 20) -> [[UInt8]]? {
        var out: [[UInt8]] = []
        var i = 0
        while i < body.count {
            guard body.count - i >= 5, body[i] == 0 else { return nil }
            let n = Int(body[i + 1]) << 24 | Int(body[i + 2]) << 16 | Int(body[i + 3]) << 8 | Int(body[i + 4])
            guard n <= cap, body.count - i - 5 >= n else { return nil }
            out.append(Array(body[(i + 5)..<(i + 5 + n)]))
            i += 5 + n
        }
        return out
    }

    // MARK: - grpc.health.v1

    public enum ServingStatus: Int, Sendable { case unknown = 0, serving = 1, notServing = 2, serviceUnknown = 3 }

    public static func healthRequest(service: String) -> [UInt8] { service.isEmpty ? [] : field(1, service) }

    public static func healthStatus(_ message: [UInt8]) -> ServingStatus? {
        guard let fs = fields(message) else { return nil }
        var status = ServingStatus.unknown
        for (n, f) in fs where n == 1 { if case .varint(let v) = f { status = ServingStatus(rawValue: Int(min(v, 9))) ?? .unknown } }
        return status
    }

    // MARK: - grpc.reflection.v1 (and v1alpha: the same messages)

    public static func reflectionListServices() -> [UInt8] { field(7, "*") }
    public static func reflectionFileContaining(_ symbol: String) -> [UInt8] { field(4, symbol) }

    public enum ReflectionAnswer: Equatable {
        case services([String])
        case files([[UInt8]])
        case error(code: Int, message: String)
    }

    public static func reflectionAnswer(_ message: [UInt8]) -> ReflectionAnswer? {
        guard let fs = fields(message) else { return nil }
        for (n, f) in fs {
            guard case .bytes(let inner) = f, let sub = fields(inner) else { continue }
            switch n {
            case 6:
                var names: [String] = []
                for (m, s) in sub where m == 1 {
                    guard case .bytes(let sr) = s, let srf = fields(sr) else { return nil }
                    if let name = srf.first(where: { $0.0 == 1 }).flatMap({ string($0.1) }) { names.append(name) }
                }
                return .services(names)
            case 4:
                return .files(sub.compactMap { $0.0 == 1 ? { if case .bytes(let b) = $0 { return b }; return nil }($0.1) : nil })
            case 7:
                var code = 0, text = ""
                for (m, s) in sub {
                    if m == 1, case .varint(let v) = s { code = Int(truncatingIfNeeded: v) }
                    if m == 2, let t = string(s) { text = t }
                }
                return .error(code: code, message: String(text.prefix(300)))
            default: continue
            }
        }
        return nil
    }

    // MARK: - google.protobuf.FileDescriptorProto (services only)

    /// A descriptor holding a parsed file's package and services (what a server's reflection sends; for examples
    /// and tests).
    public static func descriptor(_ file: ProtoFile, name: String = "service.proto") -> [UInt8] {
        var out = field(1, name)
        if !file.package.isEmpty { out += field(2, file.package) }
        for s in file.services {
            let short = file.package.isEmpty ? s.name : String(s.name.dropFirst(file.package.count + 1))
            var sb = field(1, short)
            for m in s.methods {
                var mb = field(1, m.name) + field(2, "." + m.input) + field(3, "." + m.output)
                if m.clientStreaming { mb += [5 << 3, 1] }
                if m.serverStreaming { mb += [6 << 3, 1] }
                sb += field(2, mb)
            }
            out += field(6, sb)
        }
        return out
    }

    /// The services a file descriptor defines, each method with its types (fully qualified, no leading dot) and
    /// streaming shape; nil when the bytes are not a descriptor.
    public static func services(inDescriptor bytes: [UInt8]) -> [GRPCService]? {
        guard let fs = fields(bytes) else { return nil }
        let package = fs.first { $0.0 == 2 }.flatMap { string($0.1) } ?? ""
        var out: [GRPCService] = []
        for (n, f) in fs where n == 6 {
            guard case .bytes(let sb) = f, let sf = fields(sb) else { return nil }
            let name = sf.first { $0.0 == 1 }.flatMap { string($0.1) } ?? ""
            var methods: [GRPCMethod] = []
            for (m, mf) in sf where m == 2 {
                guard case .bytes(let mb) = mf, let mfs = fields(mb) else { return nil }
                var method = GRPCMethod(name: "", input: "", output: "")
                for (k, v) in mfs {
                    switch (k, v) {
                    case (1, _): method.name = string(v) ?? ""
                    case (2, _): method.input = GRPCMethod.qualified(string(v) ?? "", package: package)
                    case (3, _): method.output = GRPCMethod.qualified(string(v) ?? "", package: package)
                    case (5, .varint(let b)): method.clientStreaming = b != 0
                    case (6, .varint(let b)): method.serverStreaming = b != 0
                    default: break
                    }
                }
                methods.append(method)
            }
            out.append(GRPCService(name: package.isEmpty ? name : "\(package).\(name)", methods: methods))
        }
        return out
    }
}

/// One gRPC service as a .proto file or a server's reflection describes it.
public struct GRPCService: Sendable, Equatable {
    public var name: String
    public var methods: [GRPCMethod]
    public init(name: String, methods: [GRPCMethod]) { self.name = name; self.methods = methods }
}

public struct GRPCMethod: Sendable, Equatable {
    public var name: String
    /// Fully qualified message names, without the leading dot: "events.Event".
    public var input: String
    public var output: String
    public var clientStreaming = false
    public var serverStreaming = false
    public init(name: String, input: String, output: String, clientStreaming: Bool = false, serverStreaming: Bool = false) {
        self.name = name; self.input = input; self.output = output
        self.clientStreaming = clientStreaming; self.serverStreaming = serverStreaming
    }

    /// "unary", "server streaming", "client streaming", "bidirectional streaming"
    public var shape: String {
        switch (clientStreaming, serverStreaming) {
        case (false, false): return "unary"
        case (false, true): return "server streaming"
        case (true, false): return "client streaming"
        case (true, true): return "bidirectional streaming"
        }
    }

    /// ".events.Event" → "events.Event"; "Event" in package "events" → "events.Event"; a dotted relative name
    /// ("google.protobuf.Empty") is taken as written.
    static func qualified(_ name: String, package: String) -> String {
        if name.hasPrefix(".") { return String(name.dropFirst()) }
        if name.contains(".") || package.isEmpty { return name }
        return "\(package).\(name)"
    }
}
