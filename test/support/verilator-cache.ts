import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * One Verilator build cache for the test files (`$DISTILL_CACHE` = testCacheBase): entries
 * are keyed by content hash and built atomically, so test files running in parallel share
 * builds of the same fixture safely.
 */
export const testCacheBase = join(tmpdir(), "distill-test-cache");
export const testCacheRoot = join(testCacheBase, "verilator");
