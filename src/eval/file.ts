import { DataError } from "../data/errors.js";
import {
  checkScoresMatch,
  fingerprintEvents,
  openEvents,
  readScores,
  type ScoresFile,
} from "../data/index.js";
import { type EvalMetrics, type EvalOptions, evaluateScores, type ScoredEvents } from "./metrics.js";

/** Score columns evaluated by default, as model name to column name, when the file has them. */
export const DEFAULT_SCORE_COLUMNS: Readonly<Record<string, string>> = {
  teacher: "teacher_score",
  student: "student_score",
};

/** A scores-file column of label indices; its description, when a JSON array, names the labels. */
export const LABEL_COLUMN = "label";

/** Map kinds (groups under /maps) read as reconstruction-error and mean-input maps, first found wins. */
export const ERROR_MAP_KINDS: readonly string[] = ["error", "RegionError"];
export const INPUT_MAP_KINDS: readonly string[] = ["input", "RegionInput"];

export interface EvalFileOptions extends EvalOptions {
  /** A dataset file with the scored events (labels come from it; its fingerprint must match). */
  readonly data?: string;
  /** HDF5 dataset name in `data`. */
  readonly dataset?: string;
  /**
   * Model name to score column. Default: teacher_score and student_score where present. Named
   * columns must exist.
   */
  readonly columns?: Readonly<Record<string, string>>;
}

export interface EvaluatedFile {
  readonly scoresFile: ScoresFile;
  readonly events: ScoredEvents & {
    readonly inputMaps?: Readonly<Record<string, Float32Array>>;
    /** Fixed-point type of each model's score column, when its values are mantissas. */
    readonly fixedTypes: Readonly<Record<string, string>>;
  };
  readonly metrics: EvalMetrics;
}

function firstKind(s: ScoresFile, kinds: readonly string[]) {
  for (const k of kinds) if (s.maps?.[k]) return s.maps[k];
  return undefined;
}

async function labelsFromData(file: string, dataset: string | undefined, s: ScoresFile, scoresFile: string) {
  const probe = await openEvents(file, { dataset });
  try {
    checkScoresMatch(s, await fingerprintEvents(probe), scoresFile, file);
  } finally {
    probe.close();
  }
  const src = await openEvents(file, { dataset });
  try {
    const labels = new Int32Array(src.count);
    let names: readonly string[] | undefined;
    let at = 0;
    for await (const c of src.chunks()) {
      if (!c.labels) return undefined;
      labels.set(c.labels, at);
      names ??= c.labelNames;
      at += c.count;
    }
    return { labels, labelNames: names };
  } finally {
    src.close();
  }
}

function labelsFromColumn(s: ScoresFile, file: string) {
  const col = s.columns[LABEL_COLUMN];
  if (!col) return undefined;
  let names: string[] | undefined;
  try {
    const parsed: unknown = col.description ? JSON.parse(col.description) : undefined;
    if (Array.isArray(parsed) && parsed.every((x) => typeof x === "string")) names = parsed;
  } catch {
    names = undefined;
  }
  const labels = Int32Array.from(col.values, (v, i) => {
    if (!Number.isInteger(v) || v < 0) {
      throw new DataError(
        { file, dataset: `scores/${LABEL_COLUMN}`, event: i },
        `label ${v}`,
        "a label index >= 0",
      );
    }
    return v;
  });
  return { labels, labelNames: names };
}

/**
 * Evaluates a scores file: the chosen score columns, labels from `data` (checked against the
 * scores' fingerprint) or from the file's `label` column, and the per-label error maps.
 */
export async function evaluateScoresFile(file: string, o: EvalFileOptions = {}): Promise<EvaluatedFile> {
  const s = await readScores(file);
  const wanted = o.columns ?? DEFAULT_SCORE_COLUMNS;
  const scores: Record<string, ArrayLike<number>> = {};
  const fixedTypes: Record<string, string> = {};
  for (const [model, column] of Object.entries(wanted)) {
    const col = s.columns[column];
    if (!col) {
      if (o.columns) {
        throw new DataError(
          { file },
          `no score "${column}"`,
          `one of ${Object.keys(s.columns).join(", ") || "(none)"}`,
        );
      }
      continue;
    }
    scores[model] = col.values;
    if (col.fixedType) fixedTypes[model] = col.fixedType;
  }
  if (Object.keys(scores).length === 0) {
    throw new DataError(
      { file },
      `none of the score columns ${Object.values(wanted).join(", ")} (it has ${Object.keys(s.columns).join(", ") || "none"})`,
      "a score to evaluate (name one with --score MODEL=COLUMN)",
    );
  }
  const lab = o.data ? await labelsFromData(o.data, o.dataset, s, file) : labelsFromColumn(s, file);
  const errorMaps = firstKind(s, ERROR_MAP_KINDS);
  const inputMaps = firstKind(s, INPUT_MAP_KINDS);
  const events = {
    scores,
    ...(lab ? { labels: lab.labels, ...(lab.labelNames ? { labelNames: lab.labelNames } : {}) } : {}),
    ...(errorMaps ? { errorMaps } : {}),
    ...(inputMaps ? { inputMaps } : {}),
    fixedTypes,
  };
  const metrics = evaluateScores(events, o);
  const models = Object.fromEntries(
    Object.entries(metrics.models).map(([n, mm]) => [
      n,
      fixedTypes[n] ? { fixed_type: fixedTypes[n], ...mm } : mm,
    ]),
  );
  return { scoresFile: s, events, metrics: { ...metrics, models } };
}
