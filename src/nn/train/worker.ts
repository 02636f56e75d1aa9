import { parentPort } from "node:worker_threads";
import { type BackendName, selectBackend } from "../backend.js";
import { createRuntime, type ModelSpec, type Runtime } from "./runtime.js";

/** Messages between the training thread and a data-parallel worker (see engine.ts). */
export type WorkerRequest =
  | { readonly type: "init"; readonly spec: ModelSpec; readonly backend: BackendName }
  | { readonly type: "buffers"; readonly params: SharedArrayBuffer; readonly grads: SharedArrayBuffer }
  | { readonly type: "initialParams" }
  | {
      readonly type: "gradients" | "losses";
      /** Bumped whenever the shared parameters change. */
      readonly version: number;
      readonly x: Uint16Array;
      readonly y?: Float32Array;
      readonly count: number;
    };

export type WorkerReply =
  | { readonly type: "ready"; readonly paramCount: number }
  | { readonly type: "ok" }
  | { readonly type: "params"; readonly params: Float32Array }
  | { readonly type: "loss"; readonly loss: number }
  | { readonly type: "losses"; readonly losses: Float32Array }
  | { readonly type: "error"; readonly message: string };

let rt: Runtime | undefined;
let params: Float32Array | undefined;
let grads: Float32Array | undefined;
let seen = -1;

async function handle(m: WorkerRequest): Promise<WorkerReply> {
  switch (m.type) {
    case "init":
      await selectBackend(m.backend);
      rt = await createRuntime(m.spec);
      return { type: "ready", paramCount: rt.paramCount };
    case "buffers":
      params = new Float32Array(m.params);
      grads = new Float32Array(m.grads);
      return { type: "ok" };
    case "initialParams":
      return { type: "params", params: rt!.initialParams() };
    case "gradients":
    case "losses": {
      if (m.version !== seen) {
        rt!.setParams(params!);
        seen = m.version;
      }
      const batch = { x: m.x, count: m.count, ...(m.y ? { y: m.y } : {}) };
      if (m.type === "losses") return { type: "losses", losses: rt!.losses(batch) };
      return { type: "loss", loss: rt!.gradients(batch, grads!) };
    }
  }
}

parentPort!.on("message", (m: WorkerRequest) => {
  handle(m).then(
    (reply) => parentPort!.postMessage(reply),
    (e: unknown) =>
      parentPort!.postMessage({
        type: "error",
        message: e instanceof Error ? (e.stack ?? e.message) : String(e),
      }),
  );
});
