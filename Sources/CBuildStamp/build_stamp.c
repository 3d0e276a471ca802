#include "build_stamp.h"

// A section of its own, 64 bytes, so that scripts/stamp-commit.sh can replace its contents with objcopy
// --update-section after the link, without a rebuild: a compiler flag carrying the commit would change with
// every commit and rebuild every target. Not const: its bytes are read at run time, never folded.
__attribute__((used, section("preflight_commit"), aligned(1)))
char preflight_commit_stamp[64] = "unknown";

const char *preflight_build_commit(void) { return preflight_commit_stamp; }
