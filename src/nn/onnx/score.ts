import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import * as ort from "onnxruntime-node";
import { TEACHER_INPUT_SHAPE } from "../../config/teacher.js";
import { INFER_BATCH, runInBatches, type TeacherInference } from "../teacher/score.js";
import { ONNX_INPUT, ONNX_MSE, ONNX_RECONSTRUCTION, OnnxExportError } from "./export.js";

/**
 * Teacher inference with ONNX Runtime's CPU provider on a model written by
 * `exportTeacherOnnx`: one session with as many intra-op threads as the machine has cores,
 * fed batches of `INFER_BATCH` events. The graph computes the MSE itself, so only the two
 * outputs cross into JavaScript. Idle threads do not spin: on shared cores a spinning
 * thread takes time from the working one.
 */
export async function ortInference(
  model: string | Uint8Array,
  opts: { readonly threads?: number; readonly name?: string; readonly batch?: number } = {},
): Promise<TeacherInference> {
  const file = typeof model === "string" ? model : (opts.name ?? "ONNX model");
  if (typeof model === "string" && !existsSync(model)) {
    throw new OnnxExportError(`${file}: no such file (an ONNX teacher)`);
  }
  const threads = opts.threads ?? availableParallelism();
  const options: ort.InferenceSession.SessionOptions = {
    executionProviders: ["cpu"],
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: "all",
    extra: { session: { intra_op: { allow_spinning: "0" } } },
  };
  const pass = async (x: Float32Array, n: number) => {
    const out = await session.run({
      [ONNX_INPUT]: new ort.Tensor("float32", x, [n, ...TEACHER_INPUT_SHAPE]),
    });
    return {
      reconstruction: out[ONNX_RECONSTRUCTION].data as Float32Array,
      mse: out[ONNX_MSE].data as Float32Array,
    };
  };
  let session: ort.InferenceSession;
  try {
    session =
      typeof model === "string"
        ? await ort.InferenceSession.create(model, options)
        : await ort.InferenceSession.create(model, options);
  } catch (e) {
    throw new OnnxExportError(
      `${file}: ONNX Runtime cannot load it (${String((e as Error).message).split("\n")[0]})`,
    );
  }
  for (const [what, names, want] of [
    ["inputs", session.inputNames, [ONNX_INPUT]],
    ["outputs", session.outputNames, [ONNX_RECONSTRUCTION, ONNX_MSE]],
  ] as const) {
    if (want.some((n) => !names.includes(n))) {
      await session.release();
      throw new OnnxExportError(
        `${file}: graph ${what} are ${names.join(", ")}, expected ${want.join(", ")} (a teacher exported by distill export-onnx)`,
      );
    }
  }
  return {
    engine: `onnxruntime-node ${ort.env.versions.node ?? ""} (cpu, ${threads} threads)`.replace("  ", " "),
    run: (x, n) => runInBatches(x, n, opts.batch ?? INFER_BATCH, pass),
    dispose: () => session.release(),
  };
}
