import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "../../util/atomic.js";
import { UserError } from "../../util/errors.js";

/**
 * A training checkpoint: a folder with `state.json` and one binary file per array (parameters,
 * optimizer moments, best weights, ...). Arrays are written first under names carrying the
 * epoch; `state.json`, which names them, is replaced atomically last; then older arrays are
 * removed. A crash at any moment leaves either the previous checkpoint or the new one.
 */
export class CheckpointError extends UserError {
  override readonly name = "CheckpointError";
}

export const CHECKPOINT_FORMAT = "distill-checkpoint";

export interface Checkpoint<S> {
  /** JSON-serialisable loop state (epoch, history, schedules, ...). */
  readonly state: S;
  readonly arrays: Readonly<Record<string, Float32Array>>;
}

interface StateFile<S> {
  readonly format: typeof CHECKPOINT_FORMAT;
  readonly version: 1;
  readonly tag: string;
  readonly state: S;
  readonly arrays: Readonly<Record<string, { readonly file: string; readonly length: number }>>;
}

const STATE = "state.json";

export function writeCheckpoint<S>(dir: string, tag: string, c: Checkpoint<S>): void {
  mkdirSync(dir, { recursive: true });
  const arrays: Record<string, { file: string; length: number }> = {};
  const stamp = `${Date.now().toString(36)}-${process.pid}`;
  for (const [name, values] of Object.entries(c.arrays)) {
    const file = `${name}-${stamp}.bin`;
    writeFileAtomic(join(dir, file), new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
    arrays[name] = { file, length: values.length };
  }
  const body: StateFile<S> = { format: CHECKPOINT_FORMAT, version: 1, tag, state: c.state, arrays };
  writeFileAtomic(join(dir, STATE), `${JSON.stringify(body, null, 1)}\n`);
  const keep = new Set([STATE, ...Object.values(arrays).map((a) => a.file)]);
  for (const f of readdirSync(dir))
    if (!keep.has(f) && f.endsWith(".bin")) rmSync(join(dir, f), { force: true });
}

export function hasCheckpoint(dir: string): boolean {
  return existsSync(join(dir, STATE));
}

/** Reads a checkpoint; `tag` must match what wrote it (e.g. a hash of config and data). */
export function readCheckpoint<S>(dir: string, tag: string): Checkpoint<S> {
  const file = join(dir, STATE);
  if (!existsSync(file)) throw new CheckpointError(`${dir}: no checkpoint to resume from (no ${STATE})`);
  let body: StateFile<S>;
  try {
    body = JSON.parse(readFileSync(file, "utf8")) as StateFile<S>;
  } catch (e) {
    throw new CheckpointError(`${file}: unreadable checkpoint (${(e as Error).message})`);
  }
  if (body.format !== CHECKPOINT_FORMAT || body.version !== 1) {
    throw new CheckpointError(
      `${file}: found format ${JSON.stringify(body.format)}, expected "${CHECKPOINT_FORMAT}" version 1`,
    );
  }
  if (body.tag !== tag) {
    throw new CheckpointError(
      `${file}: the checkpoint was written for another configuration or dataset (found ${body.tag.slice(0, 12)}..., expected ${tag.slice(0, 12)}...); start afresh without --resume or restore the original inputs`,
    );
  }
  const arrays: Record<string, Float32Array> = {};
  for (const [name, a] of Object.entries(body.arrays)) {
    const path = join(dir, a.file);
    if (!existsSync(path)) throw new CheckpointError(`${path}: missing checkpoint array "${name}"`);
    const bytes = readFileSync(path);
    if (bytes.length !== a.length * 4) {
      throw new CheckpointError(`${path}: found ${bytes.length} bytes, expected ${a.length * 4}`);
    }
    arrays[name] = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
  }
  return { state: body.state, arrays };
}
