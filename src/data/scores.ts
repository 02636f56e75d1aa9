import { closeSync, fsyncSync, openSync, renameSync, rmSync } from "node:fs";
import type { Dataset as H5Dataset, Group as H5Group } from "h5wasm/node";
import { DataError } from "./errors.js";
import type { DatasetFingerprint } from "./fingerprint.js";
import { N_ETA, N_PHI, N_REGIONS } from "./geometry.js";
import { loadH5 } from "./io/h5.js";
import { tempName } from "./io/source.js";

/**
 * A scores file: per-event numbers computed from one dataset file (teacher MSE and score,
 * distillation targets, student scores), tied to that dataset by its fingerprint so a score
 * can never be paired with the wrong events. HDF5 layout:
 *
 *   /                 attrs format="distill-scores", version=1, dataset_events, dataset_sha256, dataset_file
 *   /scores/NAME      (N) one column per score; attrs description, and fixed_type when the
 *                     values are integer mantissas of that ap_fixed type
 *   /maps/KIND/LABEL  (18, 14) float32 per-region maps, e.g. maps/RegionError/background: the
 *                     mean squared reconstruction error of each region over that label's events
 */
export const SCORES_FORMAT = "distill-scores";
export const SCORES_VERSION = 1;

export type ScoreValues = Float32Array | Float64Array | Uint16Array | Int32Array;

export interface ScoreColumn {
  readonly values: ScoreValues;
  readonly description?: string;
  /** Set when `values` are mantissas of this fixed-point type, e.g. `ap_ufixed<16,8,AP_RND_CONV,AP_SAT>`. */
  readonly fixedType?: string;
}

export interface ScoresFile {
  readonly dataset: DatasetFingerprint & { readonly file?: string };
  readonly columns: Readonly<Record<string, ScoreColumn>>;
  /** KIND -> LABEL -> 252 values, row-major (phi, eta). */
  readonly maps?: Readonly<Record<string, Readonly<Record<string, Float32Array>>>>;
}

const DTYPES = new Map<string, string>([
  ["Float32Array", "<f"],
  ["Float64Array", "<d"],
  ["Uint16Array", "<H"],
  ["Int32Array", "<i"],
]);

const NAME = /^[A-Za-z0-9_.+-]+$/;

/** Writes a scores file atomically (temporary sibling, fsync, rename). */
export async function writeScores(file: string, s: ScoresFile): Promise<void> {
  const m = await loadH5();
  for (const [name, col] of Object.entries(s.columns)) {
    if (!NAME.test(name)) throw new RangeError(`score name "${name}" must match ${NAME}`);
    if (col.values.length !== s.dataset.events) {
      throw new RangeError(`score "${name}" has ${col.values.length} values, expected ${s.dataset.events}`);
    }
  }
  const tmp = tempName(file);
  rmSync(tmp, { force: true });
  const f = new m.File(tmp, "w");
  try {
    f.create_attribute("format", SCORES_FORMAT);
    f.create_attribute("version", SCORES_VERSION, null, "<i");
    f.create_attribute("dataset_events", s.dataset.events, null, "<d");
    f.create_attribute("dataset_sha256", s.dataset.sha256);
    if (s.dataset.file !== undefined) f.create_attribute("dataset_file", s.dataset.file);
    const scores = f.create_group("scores");
    for (const [name, col] of Object.entries(s.columns)) {
      const d = scores.create_dataset({
        name,
        data: col.values,
        shape: [col.values.length],
        dtype: DTYPES.get(col.values.constructor.name)!,
      }) as H5Dataset;
      if (col.description !== undefined) d.create_attribute("description", col.description);
      if (col.fixedType !== undefined) d.create_attribute("fixed_type", col.fixedType);
    }
    if (s.maps) {
      const maps = f.create_group("maps");
      for (const [kind, byLabel] of Object.entries(s.maps)) {
        if (!NAME.test(kind)) throw new RangeError(`map kind "${kind}" must match ${NAME}`);
        const g = maps.create_group(kind);
        for (const [label, values] of Object.entries(byLabel)) {
          if (!NAME.test(label)) throw new RangeError(`map label "${label}" must match ${NAME}`);
          if (values.length !== N_REGIONS)
            throw new RangeError(`map ${kind}/${label} has ${values.length} values`);
          g.create_dataset({ name: label, data: values, shape: [N_PHI, N_ETA], dtype: "<f" });
        }
      }
    }
    f.close();
    const fd = openSync(tmp, "r+");
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, file);
  } catch (e) {
    try {
      f.close();
    } catch {}
    rmSync(tmp, { force: true });
    throw e;
  }
}

function asScoreValues(v: unknown): ScoreValues | undefined {
  if (
    v instanceof Float32Array ||
    v instanceof Float64Array ||
    v instanceof Uint16Array ||
    v instanceof Int32Array
  ) {
    return v;
  }
  if (ArrayBuffer.isView(v) && !(v instanceof DataView))
    return Float64Array.from(v as unknown as ArrayLike<number>);
  return undefined;
}

/** Reads a whole scores file; errors name the file and what is wrong. */
export async function readScores(file: string): Promise<ScoresFile> {
  const m = await loadH5();
  let f: InstanceType<typeof m.File>;
  try {
    f = new m.File(file, "r");
  } catch (e) {
    throw new DataError({ file }, `a file HDF5 cannot open (${(e as Error).message})`, "a scores file");
  }
  try {
    const attr = (name: string) => f.attrs[name]?.value;
    if (attr("format") !== SCORES_FORMAT) {
      throw new DataError(
        { file },
        `format attribute ${JSON.stringify(attr("format") ?? null)}`,
        `"${SCORES_FORMAT}"`,
      );
    }
    if (Number(attr("version")) !== SCORES_VERSION) {
      throw new DataError({ file }, `version ${String(attr("version"))}`, `version ${SCORES_VERSION}`);
    }
    const events = Number(attr("dataset_events"));
    const sha256 = String(attr("dataset_sha256"));
    const datasetFile = attr("dataset_file");
    const columns: Record<string, ScoreColumn> = {};
    const group = f.get("scores");
    if (group instanceof m.Group) {
      for (const name of group.keys()) {
        const d = group.get(name);
        if (!(d instanceof m.Dataset)) continue;
        const values = asScoreValues(d.value);
        if (!values || values.length !== events) {
          throw new DataError(
            { file, dataset: `scores/${name}` },
            `${d.shape?.join("x")} values`,
            `${events} numbers`,
          );
        }
        const description = d.attrs.description?.value;
        const fixedType = d.attrs.fixed_type?.value;
        columns[name] = {
          values,
          ...(description !== undefined ? { description: String(description) } : {}),
          ...(fixedType !== undefined ? { fixedType: String(fixedType) } : {}),
        };
      }
    }
    const maps: Record<string, Record<string, Float32Array>> = {};
    const mapsGroup = f.get("maps");
    if (mapsGroup instanceof m.Group) {
      for (const kind of mapsGroup.keys()) {
        const g = mapsGroup.get(kind) as H5Group;
        maps[kind] = {};
        for (const label of g.keys()) {
          const d = g.get(label) as H5Dataset;
          maps[kind][label] = Float32Array.from(d.value as ArrayLike<number>);
        }
      }
    }
    return {
      dataset: { events, sha256, ...(datasetFile !== undefined ? { file: String(datasetFile) } : {}) },
      columns,
      ...(Object.keys(maps).length ? { maps } : {}),
    };
  } finally {
    f.close();
  }
}

/** A score column by name, or an error listing the columns the file has. */
export function scoreColumn(s: ScoresFile, name: string, file: string): ScoreColumn {
  const col = s.columns[name];
  if (!col) {
    throw new DataError(
      { file },
      `no score "${name}"`,
      `one of ${Object.keys(s.columns).join(", ") || "(none)"}`,
    );
  }
  return col;
}

/**
 * Refuses scores computed from other events than `dataset`: the count and the hash must agree.
 */
export function checkScoresMatch(
  s: ScoresFile,
  dataset: DatasetFingerprint,
  scoresFile: string,
  datasetFile: string,
): void {
  if (s.dataset.events !== dataset.events || s.dataset.sha256 !== dataset.sha256) {
    throw new DataError(
      { file: scoresFile },
      `scores of ${s.dataset.events} events with SHA-256 ${s.dataset.sha256.slice(0, 12)}...${s.dataset.file ? ` (from ${s.dataset.file})` : ""}`,
      `scores of the ${dataset.events} events of ${datasetFile} (SHA-256 ${dataset.sha256.slice(0, 12)}...)`,
    );
  }
}
