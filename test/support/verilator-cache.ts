import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * One Verilator build cache for the test files: entries are keyed by content hash and built
 * atomically, so test files running in parallel share builds of the same fixture safely.
 */
export const testCacheRoot = join(tmpdir(), "distill-test-verilator");
