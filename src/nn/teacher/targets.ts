import { join } from "node:path";
import { openEvents } from "../../data/index.js";
import { exportTeacherOnnx } from "../onnx/export.js";
import { ortInference } from "../onnx/score.js";
import { loadTeacherModel } from "./open.js";
import { scoreEvents, writeTeacherScores } from "./score.js";

export interface TargetFiles {
  /** The teacher in ONNX, next to its tfjs folder's parent (`teacher/teacher.onnx`). */
  readonly onnxFile: string;
  readonly targetType: string;
  /** Per scored input: the scores file written and the seconds scoring took. */
  readonly scores: readonly { readonly data: string; readonly file: string; readonly seconds: number }[];
}

/**
 * The distillation targets: exports the trained teacher (a tfjs folder) to ONNX in `outDir`
 * and scores each events file with ONNX Runtime, writing `outDir/NAME-scores.h5` (the MSE, the
 * score ln(MSE) x 32 and its fixed-point mantissa, per event, tied to the events' hash). The
 * tfjs backend must already be selected (loading the tfjs model needs one).
 */
export async function teacherTargets(
  modelDir: string,
  outDir: string,
  inputs: readonly { readonly name: string; readonly data: string }[],
  dataset?: string,
  log: (line: string) => void = () => {},
): Promise<TargetFiles> {
  const t = await loadTeacherModel(modelDir);
  const onnxFile = join(outDir, "teacher.onnx");
  exportTeacherOnnx(
    t.model,
    { inputScale: t.scale, targetType: t.targetTypeText, name: t.model.name },
    onnxFile,
  );
  t.model.dispose();
  const infer = await ortInference(onnxFile);
  const scores: { data: string; file: string; seconds: number }[] = [];
  try {
    for (const input of inputs) {
      const src = await openEvents(input.data, dataset ? { dataset } : {});
      try {
        const s = await scoreEvents(src, infer, { scale: t.scale, targetType: t.targetType });
        const file = join(outDir, `${input.name}-scores.h5`);
        await writeTeacherScores(file, s, t.targetType, input.data);
        log(
          `scored ${src.count} events of ${input.data} in ${s.seconds.toFixed(1)} s with ${infer.engine} -> ${file}`,
        );
        scores.push({ data: input.data, file, seconds: s.seconds });
      } finally {
        src.close();
      }
    }
  } finally {
    await infer.dispose();
  }
  return { onnxFile, targetType: t.targetTypeText, scores };
}
