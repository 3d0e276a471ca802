#ifndef PREFLIGHT_BUILD_STAMP_H
#define PREFLIGHT_BUILD_STAMP_H

/// The commit the binary was built from: "unknown" in a plain `swift build`; scripts/stamp-commit.sh writes the
/// git commit into the installed binary's `preflight_commit` section (`make install`, `make deb`, `make dist`).
const char *preflight_build_commit(void);

#endif
