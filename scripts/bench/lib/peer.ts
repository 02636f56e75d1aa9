import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

/** What ../shared/peers/torch_bench.py measured (events/s), and whether other load disturbed it. */
export interface PeerRun {
  readonly teacherTrain?: number;
  readonly teacherInfer?: number;
  readonly studentV1?: number;
  readonly studentV2?: number;
  readonly contended: boolean | null;
}

/**
 * Runs Debian's PyTorch on the same models (`torch_bench.py --quick`, 2 threads), side by side
 * with our figures. Undefined, with the reason on stderr, when the script or torch is missing.
 */
export function runTorchPeer(script = "../shared/peers/torch_bench.py"): PeerRun | undefined {
  const python = "/usr/bin/python3";
  const hasTorch =
    existsSync(script) && spawnSync(python, ["-c", "import torch"], { encoding: "utf8" }).status === 0;
  if (!hasTorch) {
    console.error(
      `peer skipped: ${script} or torch for ${python} missing (apt-get install python3-torch python3-numpy)`,
    );
    return undefined;
  }
  const r = spawnSync(python, [script, "--quick"], { encoding: "utf8", maxBuffer: 1 << 24 });
  const line = r.stdout.trim().split("\n").pop() ?? "";
  try {
    const p = JSON.parse(line) as {
      results?: Record<string, { samples_per_s?: number }>;
      contended?: boolean;
    };
    console.error(`peer: ${line}`);
    return {
      teacherTrain: p.results?.teacher_train?.samples_per_s,
      teacherInfer: p.results?.teacher_infer?.samples_per_s,
      studentV1: p.results?.student_v1?.samples_per_s,
      studentV2: p.results?.student_v2?.samples_per_s,
      contended: p.contended ?? null,
    };
  } catch {
    console.error(`peer: could not read its JSON line: ${line.slice(0, 200)} ${r.stderr.slice(-500)}`);
    return undefined;
  }
}
