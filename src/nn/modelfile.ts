import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import { writeFileAtomic } from "../util/atomic.js";
import { UserError } from "../util/errors.js";

/**
 * A TensorFlow.js layers model on disk in the standard format that `tf.loadLayersModel`
 * reads: `model.json` (topology, weights manifest, our metadata) and `weights.bin`. Both are
 * written atomically, weights first, so `model.json` never names missing or partial weights.
 */
export class ModelFileError extends UserError {
  override readonly name = "ModelFileError";
}

const WEIGHTS = "weights.bin";
const MODEL = "model.json";

export async function saveModel(
  dir: string,
  model: tfl.LayersModel,
  metadata: Record<string, unknown>,
): Promise<void> {
  mkdirSync(dir, { recursive: true });
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      const data =
        a.weightData instanceof ArrayBuffer
          ? a.weightData
          : tf.io.concatenateArrayBuffers(a.weightData ?? []);
      writeFileAtomic(join(dir, WEIGHTS), new Uint8Array(data));
      const json = {
        format: "layers-model",
        generatedBy: `TensorFlow.js tfjs-layers v${tfl.version_layers}`,
        convertedBy: null,
        modelTopology: a.modelTopology,
        weightsManifest: [{ paths: [WEIGHTS], weights: a.weightSpecs }],
        userDefinedMetadata: { distill: metadata },
      };
      writeFileAtomic(join(dir, MODEL), `${JSON.stringify(json)}\n`);
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: "JSON" } };
    }),
  );
}

export interface LoadedModel {
  readonly model: tfl.LayersModel;
  readonly metadata: Record<string, unknown>;
}

export async function loadModel(dir: string): Promise<LoadedModel> {
  const file = join(dir, MODEL);
  if (!existsSync(file)) throw new ModelFileError(`${dir}: no ${MODEL} (not a saved model folder)`);
  let json: {
    modelTopology?: object;
    weightsManifest?: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
    userDefinedMetadata?: { distill?: Record<string, unknown> };
  };
  try {
    json = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw new ModelFileError(`${file}: invalid JSON (${(e as Error).message})`);
  }
  if (!json.modelTopology || !json.weightsManifest) {
    throw new ModelFileError(
      `${file}: found no modelTopology or weightsManifest, expected a tfjs layers model`,
    );
  }
  const specs = json.weightsManifest.flatMap((g) => g.weights);
  const buffers = json.weightsManifest.flatMap((g) =>
    g.paths.map((p) => {
      const path = join(dir, p);
      if (!existsSync(path)) throw new ModelFileError(`${file}: weights file ${p} is missing`);
      const b = readFileSync(path);
      return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
    }),
  );
  const model = await tfl.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: json.modelTopology,
      weightSpecs: specs,
      weightData: tf.io.concatenateArrayBuffers(buffers),
    }),
  );
  return { model, metadata: json.userDefinedMetadata?.distill ?? {} };
}
