import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { N_REGIONS } from "../../data/geometry.js";
import { workerEntry } from "../../util/worker.js";
import type { BackendName } from "../backend.js";
import type { Shard } from "./data.js";
import { createRuntime, type ModelSpec } from "./runtime.js";
import type { WorkerReply, WorkerRequest } from "./worker.js";

/**
 * Computes losses and gradients of a model for batches at given parameters, on this thread
 * or split over worker threads (data parallelism: each worker holds a replica on its own
 * backend and takes a contiguous share of the batch; the shares' mean gradients are combined
 * weighted by their sizes, in worker order, so the result does not depend on timing).
 */
export interface Engine {
  readonly paramCount: number;
  readonly workers: number;
  initialParams(): Promise<Float32Array>;
  /** Mean loss over the batch and its gradient (written into `grads`). */
  gradients(params: Float32Array, batch: Shard, grads: Float32Array): Promise<number>;
  /** Loss of each event of the batch. */
  losses(params: Float32Array, batch: Shard): Promise<Float32Array>;
  dispose(): Promise<void>;
}

/** Worker threads worth using on this machine for a batch size (each needs a useful share). */
export function defaultWorkers(batchSize: number): number {
  return Math.max(1, Math.min(availableParallelism(), Math.floor(batchSize / 64)));
}

/** An engine on this thread's current TensorFlow.js backend. */
export async function localEngine(spec: ModelSpec): Promise<Engine> {
  const rt = await createRuntime(spec);
  // The optimizer updates one array in place, so parameters are copied in on every call.
  return {
    paramCount: rt.paramCount,
    workers: 0,
    initialParams: async () => rt.initialParams(),
    async gradients(params, batch, grads) {
      rt.setParams(params);
      return rt.gradients(batch, grads);
    },
    async losses(params, batch) {
      rt.setParams(params);
      return rt.losses(batch);
    },
    async dispose() {
      rt.dispose();
    },
  };
}

interface Replica {
  readonly worker: Worker;
  readonly grads: Float32Array;
  pending?: { resolve: (r: WorkerReply) => void; reject: (e: Error) => void };
}

/**
 * `n` worker threads, each with its own backend and model replica. Parameters travel through
 * one shared buffer that the workers read at the start of every task; each worker writes its
 * gradient into a shared buffer of its own.
 */
export async function workerEngine(spec: ModelSpec, backend: BackendName, n: number): Promise<Engine> {
  const { url, execArgv } = workerEntry(import.meta.url, "worker");
  const replicas: Replica[] = [];
  let paramCount = 0;
  let shared: Float32Array | undefined;
  let version = 0;
  let failed: Error | undefined;

  const call = (r: Replica, req: WorkerRequest, transfer: ArrayBuffer[] = []) =>
    new Promise<WorkerReply>((resolve, reject) => {
      if (failed) return reject(failed);
      r.pending = { resolve, reject };
      r.worker.postMessage(req, transfer);
    });

  const spawn = () => {
    const worker = new Worker(url, { execArgv });
    const r: Replica = { worker, grads: new Float32Array(0) };
    worker.on("message", (m: WorkerReply) => {
      const p = r.pending;
      r.pending = undefined;
      if (m.type === "error") p?.reject(new Error(m.message));
      else p?.resolve(m);
    });
    worker.on("error", (e) => {
      failed = e;
      r.pending?.reject(e);
    });
    worker.on("exit", (code) => {
      if (code !== 0 && !failed) {
        failed = new Error(`training worker exited with code ${code}`);
        r.pending?.reject(failed);
      }
    });
    return r;
  };

  try {
    for (let w = 0; w < n; w++) replicas.push(spawn());
    const first = await call(replicas[0], { type: "init", spec, backend });
    if (first.type !== "ready") throw new Error("worker did not start");
    paramCount = first.paramCount;
    shared = new Float32Array(new SharedArrayBuffer(paramCount * 4));
    const ready = await Promise.all(
      replicas.map(async (r, w) => {
        const gradBuffer = new SharedArrayBuffer(paramCount * 4);
        (r as { grads: Float32Array }).grads = new Float32Array(gradBuffer);
        if (w > 0) await call(r, { type: "init", spec, backend });
        return call(r, { type: "buffers", params: shared!.buffer as SharedArrayBuffer, grads: gradBuffer });
      }),
    );
    if (ready.some((m) => m.type !== "ok")) throw new Error("worker did not accept its buffers");
  } catch (e) {
    await Promise.all(replicas.map((r) => r.worker.terminate()));
    throw e;
  }

  // The optimizer updates one array in place, so parameters are published on every call.
  const publish = (params: Float32Array) => {
    shared!.set(params);
    version++;
  };

  /** Contiguous shares of a batch, one per worker (empty shares are skipped). */
  const shares = (batch: Shard) => {
    const out: { w: number; start: number; count: number }[] = [];
    const per = Math.ceil(batch.count / replicas.length);
    for (let w = 0, start = 0; start < batch.count; w++, start += per) {
      out.push({ w, start, count: Math.min(per, batch.count - start) });
    }
    return out;
  };
  const sub = (batch: Shard, start: number, count: number) => ({
    x: batch.x.slice(start * N_REGIONS, (start + count) * N_REGIONS),
    y: batch.y?.slice(start, start + count),
    count,
  });

  return {
    paramCount,
    workers: n,
    async initialParams() {
      const m = await call(replicas[0], { type: "initialParams" });
      if (m.type !== "params") throw new Error("unexpected worker reply");
      return m.params;
    },
    async gradients(params, batch, grads) {
      publish(params);
      const parts = shares(batch);
      const replies = await Promise.all(
        parts.map(({ w, start, count }) => {
          const s = sub(batch, start, count);
          return call(replicas[w], { type: "gradients", version, ...s }, [s.x.buffer as ArrayBuffer]);
        }),
      );
      grads.fill(0);
      let loss = 0;
      parts.forEach(({ w, count }, k) => {
        const m = replies[k];
        if (m.type !== "loss") throw new Error("unexpected worker reply");
        const weight = count / batch.count;
        loss += m.loss * weight;
        const g = replicas[w].grads;
        for (let i = 0; i < grads.length; i++) grads[i] += g[i] * weight;
      });
      return loss;
    },
    async losses(params, batch) {
      publish(params);
      const parts = shares(batch);
      const replies = await Promise.all(
        parts.map(({ w, start, count }) => {
          const s = sub(batch, start, count);
          return call(replicas[w], { type: "losses", version, ...s }, [s.x.buffer as ArrayBuffer]);
        }),
      );
      const out = new Float32Array(batch.count);
      parts.forEach(({ start }, k) => {
        const m = replies[k];
        if (m.type !== "losses") throw new Error("unexpected worker reply");
        out.set(m.losses, start);
      });
      return out;
    },
    async dispose() {
      await Promise.all(replicas.map((r) => r.worker.terminate()));
    },
  };
}
