import { UserError } from "../util/errors.js";
import { N_ETA } from "./geometry.js";

/** Where in a file a problem sits; every field is optional and printed when present. */
export interface DataLocation {
  readonly file: string;
  readonly dataset?: string;
  readonly line?: number;
  readonly event?: number;
  /** Flat region index 0..251 (phi * 14 + eta); printed as (phi, eta). */
  readonly region?: number;
}

function where(l: DataLocation): string {
  const parts: string[] = [];
  if (l.dataset !== undefined) parts.push(`dataset "${l.dataset}"`);
  if (l.line !== undefined) parts.push(`line ${l.line}`);
  if (l.event !== undefined) parts.push(`event ${l.event}`);
  if (l.region !== undefined) {
    parts.push(`region (phi ${Math.floor(l.region / N_ETA)}, eta ${l.region % N_ETA})`);
  }
  return parts.length ? `: ${parts.join(", ")}` : "";
}

/**
 * A problem in a data file a user can fix: which file, dataset or line, event and region,
 * what was found and what was expected, e.g.
 * `events.npy: event 12, region (phi 3, eta 7): found 1100, expected 0..1023 (use --saturate to clip)`.
 */
export class DataError extends UserError {
  override readonly name = "DataError";
  constructor(
    readonly location: DataLocation,
    readonly found: string,
    readonly expected: string,
  ) {
    super(`${location.file}${where(location)}: found ${found}, expected ${expected}`);
  }
}
