import Foundation

/// Which process holds a socket: the `socket:[INODE]` links under /proc/PID/fd. The search costs a directory and
/// a readlink per descriptor of every process it visits (~0.1 ms a process on a loaded machine), so it looks only for
/// the inodes it is given, visits the sockets' owners' uids first (sock_diag reports them), newest process first,
/// and stops as soon as every inode is found.
struct ProcSocketOwners {
    let procRoot: String

    func find(_ inodes: Set<UInt64>, uids: Set<UInt32>) -> [UInt64: (pid: Int, name: String)] {
        guard !inodes.isEmpty, let proc = opendir(procRoot) else { return [:] }
        defer { closedir(proc) }
        let procFD = dirfd(proc)
        // Newest first: the listener worth naming is most often a service just started (on the wrong port or
        // address), while the bulk of a busy machine's processes is older.
        var pids: [Int32] = []
        while let entry = readdir(proc) {
            if let pid = Self.pid(entry) { pids.append(pid) }
        }
        pids.sort(by: >)
        var owners: [UInt64: (pid: Int, name: String)] = [:]
        func visit(_ pid: Int32) -> Bool {
            for inode in sockets(of: pid, procFD: procFD) where inodes.contains(inode) && owners[inode] == nil {
                owners[inode] = (Int(pid), comm(of: pid, procFD: procFD) ?? "pid \(pid)")
            }
            return owners.count == inodes.count
        }
        // The sockets' uids' processes first, each uid read only when its process comes up (a stat of every
        // process first cost ~4 µs each: 8 ms on a machine with 2,000): a daemon that dropped its privileges after
        // bind still holds its socket under another uid, so the others come after, not never.
        var later: [Int32] = []
        for pid in pids {
            if !uids.isEmpty {
                var st = stat()
                guard fstatat(procFD, String(pid), &st, 0) == 0 else { continue }
                guard uids.contains(st.st_uid) else { later.append(pid); continue }
            }
            if visit(pid) { return owners }
        }
        for pid in later where visit(pid) { break }
        return owners
    }

    /// Every visible process holding one of `inodes`, in pid order: the whole table is walked (a pre-fork server's
    /// master and workers all hold the listener), at the same cost per process as `find`.
    func all(_ inodes: Set<UInt64>) -> [(pid: Int, name: String, inode: UInt64)] {
        guard !inodes.isEmpty, let proc = opendir(procRoot) else { return [] }
        defer { closedir(proc) }
        let procFD = dirfd(proc)
        var pids: [Int32] = []
        while let entry = readdir(proc) {
            if let pid = Self.pid(entry) { pids.append(pid) }
        }
        var out: [(pid: Int, name: String, inode: UInt64)] = []
        for pid in pids.sorted() {
            guard let inode = sockets(of: pid, procFD: procFD).first(where: inodes.contains) else { continue }
            out.append((Int(pid), comm(of: pid, procFD: procFD) ?? "pid \(pid)", inode))
        }
        return out
    }

    /// A /proc entry's name as a pid: digits only.
    static func pid(_ entry: UnsafeMutablePointer<dirent>) -> Int32? {
        withUnsafeBytes(of: entry.pointee.d_name) { name -> Int32? in
            var v: Int32 = 0, digits = 0
            for byte in name {
                if byte == 0 { break }
                guard byte >= 48 && byte <= 57, digits < 9 else { return nil }
                v = v * 10 + Int32(byte - 48); digits += 1
            }
            return digits > 0 ? v : nil
        }
    }

    /// The inodes of the sockets a process holds (empty when its descriptors are hidden from us).
    func sockets(of pid: Int32, procFD: Int32) -> [UInt64] {
        let fdDir = openat(procFD, "\(pid)/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fdDir >= 0, let dir = fdopendir(fdDir) else { if fdDir >= 0 { close(fdDir) }; return [] }
        defer { closedir(dir) }
        var found: [UInt64] = []
        var link = [UInt8](repeating: 0, count: 64)
        while let entry = readdir(dir) {
            guard entry.pointee.d_type == UInt8(DT_LNK) else { continue }
            let n = withUnsafePointer(to: entry.pointee.d_name) { name in
                name.withMemoryRebound(to: CChar.self, capacity: 256) { readlinkat(fdDir, $0, &link, link.count) }
            }
            // "socket:[12345]"
            guard n > 9, link[0] == UInt8(ascii: "s"), link[6] == UInt8(ascii: ":"), link[n - 1] == UInt8(ascii: "]") else { continue }
            var inode: UInt64 = 0
            for byte in link[8..<(n - 1)] {
                guard byte >= 48 && byte <= 57 else { inode = 0; break }
                inode = inode &* 10 &+ UInt64(byte - 48)
            }
            if inode != 0 { found.append(inode) }
        }
        return found
    }

    func comm(of pid: Int32, procFD: Int32) -> String? {
        let fd = openat(procFD, "\(pid)/comm", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 64)
        let n = read(fd, &buffer, buffer.count)
        guard n > 0 else { return nil }
        let name = String(decoding: buffer[..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return name.isEmpty ? nil : name
    }
}
