// The same in every fuzz target. SwiftPM renames an executable's
// `main` on Linux, so libFuzzer's own `main` is not linked; this starts libFuzzer's driver instead.
import Glibc

@_silgen_name("LLVMFuzzerRunDriver")
private func runDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

var argc = CommandLine.argc
var argv = CommandLine.unsafeArgv
exit(runDriver(&argc, &argv) { data, size in
    fuzz(data ?? UnsafePointer(bitPattern: 1)!, size)
})
