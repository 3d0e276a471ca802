@testable import PreflightChecks

/// The Python migration readers on one file: an Alembic revision (and its graph), alembic.ini's locations, and a
/// Django migration (dependencies, replaces, operations).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    if let revision = AlembicRevisions.parse(text, file: "3f2a9c1d_fuzz.py") {
        let graph = AlembicRevisions.Graph([revision])
        _ = graph.pending(current: [revision.id])
    }
    _ = AlembicRevisions.iniLocations(text, here: "/project")
    if let m = DjangoMigrations.parse(text, app: "chat", name: "0002_fuzz", file: "chat/migrations/0002_fuzz.py") {
        _ = m.changes.summary
    }
    return 0
}
