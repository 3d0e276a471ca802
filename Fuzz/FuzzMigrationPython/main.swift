// Starts libFuzzer on this target's `fuzz` (see Fuzz/Driver).
import FuzzDriver

runFuzzer { data, size in fuzz(data ?? UnsafePointer(bitPattern: 1)!, size) }
