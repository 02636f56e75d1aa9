import { existsSync, statSync } from "node:fs";
import { type FixedType, FixedTypeError, parseFixedType } from "../../fixed/index.js";
import { type BackendName, describeBackend, selectBackend } from "../backend.js";
import { type LoadedModel, loadModel, ModelFileError } from "../modelfile.js";
import { readOnnxTeacherMetadata, teacherToOnnx } from "../onnx/export.js";
import { encodeModel } from "../onnx/proto.js";
import { ortInference } from "../onnx/score.js";
import { SCORE_ENGINES, type ScoreEngine } from "./engines.js";
import { ScoringError, type TeacherInference, tfjsInference } from "./score.js";

/** What scoring needs from a saved teacher: how to run it and how to read its output. */
export interface OpenedTeacher {
  readonly infer: TeacherInference;
  readonly scale: number;
  readonly targetType: FixedType;
  /** The target type as written in the model, e.g. `ap_ufixed<16,8,AP_RND_CONV,AP_SAT>`. */
  readonly targetTypeText: string;
  /** e.g. `backend wasm (skipped ...)`, when tfjs was started. */
  readonly backendNote?: string;
}

function targetTypeOf(text: unknown, where: string): FixedType {
  if (typeof text !== "string" || text === "") {
    throw new ModelFileError(
      `${where}: found no target type, expected an ap_fixed type such as ap_ufixed<16,8,AP_RND_CONV,AP_SAT>`,
    );
  }
  try {
    return parseFixedType(text);
  } catch (e) {
    if (e instanceof FixedTypeError) throw new ModelFileError(`${where}: target type: ${e.message}`);
    throw e;
  }
}

/** A saved tfjs teacher folder with its metadata checked. */
export async function loadTeacherModel(
  dir: string,
): Promise<LoadedModel & { scale: number; targetType: FixedType; targetTypeText: string }> {
  const loaded = await loadModel(dir);
  const m = loaded.metadata;
  const where = `${dir}/model.json: userDefinedMetadata.distill`;
  if (m.kind !== "teacher") {
    throw new ModelFileError(`${where}.kind: found ${JSON.stringify(m.kind ?? null)}, expected "teacher"`);
  }
  if (typeof m.inputScale !== "number" || !(m.inputScale > 0)) {
    throw new ModelFileError(
      `${where}.inputScale: found ${JSON.stringify(m.inputScale ?? null)}, expected a positive number`,
    );
  }
  return {
    ...loaded,
    scale: m.inputScale,
    targetType: targetTypeOf(m.targetType, `${where}.targetType`),
    targetTypeText: String(m.targetType),
  };
}

/**
 * Opens a teacher for scoring: `path` is a saved tfjs folder (model.json) or an exported
 * `.onnx` file. With engine `ort` a folder is converted to ONNX in memory; an `.onnx` file
 * can only run with `ort`.
 */
export { SCORE_ENGINES, type ScoreEngine };

export async function openTeacher(
  path: string,
  engine: ScoreEngine,
  opts: { readonly backend?: BackendName; readonly threads?: number } = {},
): Promise<OpenedTeacher> {
  if (!existsSync(path)) {
    throw new ModelFileError(
      `${path}: no such file or folder, expected a teacher folder (model.json) or a .onnx file`,
    );
  }
  if (!SCORE_ENGINES.includes(engine)) {
    throw new ScoringError(`--engine: found "${engine}", expected one of ${SCORE_ENGINES.join(", ")}`);
  }
  if (!statSync(path).isDirectory()) {
    if (engine !== "ort") {
      throw new ScoringError(
        `${path}: an ONNX file runs with --engine ort, found --engine ${engine} (give the tfjs folder instead)`,
      );
    }
    const meta = readOnnxTeacherMetadata(path);
    return {
      infer: await ortInference(path, opts),
      scale: meta.inputScale,
      targetType: targetTypeOf(meta.targetType, `${path}: metadata distill.targetType`),
      targetTypeText: meta.targetType,
    };
  }
  const backend = await selectBackend(opts.backend);
  const t = await loadTeacherModel(path);
  const base = { scale: t.scale, targetType: t.targetType, targetTypeText: t.targetTypeText };
  if (engine === "tfjs") {
    const infer = tfjsInference(t.model);
    // The model was loaded here, so it goes with the inference.
    const dispose = async () => {
      t.model.dispose();
    };
    return {
      ...base,
      infer: { engine: infer.engine, run: infer.run, dispose },
      backendNote: describeBackend(backend),
    };
  }
  let bytes: Uint8Array;
  try {
    bytes = encodeModel(
      teacherToOnnx(t.model, { inputScale: t.scale, targetType: t.targetTypeText, name: t.model.name }),
    );
  } finally {
    t.model.dispose();
  }
  return { ...base, infer: await ortInference(bytes, { ...opts, name: path }) };
}
