import * as tf from "@tensorflow/tfjs-core";
import { UserError } from "../util/errors.js";
import {
  nativeModule,
  registerCpuKernelFixes,
  registerQuantizeKernel,
  registerWasmKernels,
} from "./kernels/index.js";

/**
 * TensorFlow.js backends in the order we prefer them. The two native ones are optional npm
 * packages that download libtensorflow when installed; they are not dependencies of distill,
 * so on most machines they are absent and we say so. `wasm` is the embedded default.
 */
export const BACKENDS = ["tensorflow-gpu", "tensorflow", "wasm", "cpu"] as const;
export type BackendName = (typeof BACKENDS)[number];

export class BackendError extends UserError {
  override readonly name = "BackendError";
}

export interface BackendChoice {
  readonly name: BackendName;
  /** The better backends that were tried first, and why each was not used. */
  readonly skipped: readonly { readonly name: BackendName; readonly why: string }[];
}

/** npm package that provides each native backend. */
const NATIVE_PACKAGE: Partial<Record<BackendName, string>> = {
  "tensorflow-gpu": "@tensorflow/tfjs-node-gpu",
  tensorflow: "@tensorflow/tfjs-node",
};

/** Why a module could not be loaded, in a few words. */
function loadFailure(pkg: string, e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  if (err?.code === "ERR_MODULE_NOT_FOUND" || err?.code === "MODULE_NOT_FOUND") {
    return `${pkg} is not installed (its install downloads libtensorflow; \`npm install ${pkg}\` where that is possible)`;
  }
  const first = String(err?.message ?? e).split("\n")[0];
  return `${pkg} failed to load: ${first}`;
}

async function tryNative(name: BackendName): Promise<string | undefined> {
  const pkg = NATIVE_PACKAGE[name];
  if (!pkg) return `${name} is not a native backend`;
  try {
    // A variable module name: these packages are optional and absent from our dependencies.
    await import(pkg);
  } catch (e) {
    return loadFailure(pkg, e);
  }
  // Both packages register their backend as "tensorflow"; the GPU one needs a visible device.
  if (!tf.findBackend("tensorflow") && !(await tf.setBackend("tensorflow").catch(() => false))) {
    return `${pkg} loaded but did not register the "tensorflow" backend (a different @tensorflow/tfjs-core version?)`;
  }
  return undefined;
}

let wasmReady: Promise<void> | undefined;

async function loadWasm(): Promise<string | undefined> {
  try {
    // Our own gradient kernels must be built; without them wasm cannot train at speed.
    nativeModule();
  } catch (e) {
    return (e as Error).message;
  }
  try {
    // Our training kernels go in once wasm's own are registered and before the backend starts.
    wasmReady ??= import("@tensorflow/tfjs-backend-wasm").then(() => {
      registerWasmKernels();
      registerQuantizeKernel("wasm");
    });
    await wasmReady;
    return undefined;
  } catch (e) {
    wasmReady = undefined;
    return loadFailure("@tensorflow/tfjs-backend-wasm", e);
  }
}

async function loadBackend(name: BackendName): Promise<string | undefined> {
  switch (name) {
    case "tensorflow-gpu":
    case "tensorflow":
      return tryNative(name);
    case "wasm":
      return loadWasm();
    case "cpu":
      await import("@tensorflow/tfjs-backend-cpu");
      registerCpuKernelFixes();
      registerQuantizeKernel("cpu");
      return undefined;
  }
}

async function activate(name: BackendName): Promise<string | undefined> {
  const tfName = name === "tensorflow-gpu" ? "tensorflow" : name;
  const ok = await tf.setBackend(tfName).catch((e: unknown) => {
    throw new BackendError(`backend ${name} failed to initialise: ${(e as Error).message}`);
  });
  if (!ok) return `backend ${name} failed to initialise`;
  await tf.ready();
  return undefined;
}

/**
 * Chooses and activates the best available backend, or the one forced by `force` (an error
 * when it is unavailable). Returns the choice with the reasons the better ones were skipped,
 * which the caller logs so a user knows why training runs at the speed it does.
 */
export async function selectBackend(force?: BackendName): Promise<BackendChoice> {
  if (force !== undefined && !BACKENDS.includes(force)) {
    throw new BackendError(`--backend: found "${force}", expected one of ${BACKENDS.join(", ")}`);
  }
  // Production mode: no "install the node backend" banner (our log says which backend runs
  // and why the better ones did not) and no per-op debug checks.
  tf.env().set("PROD", true);
  const skipped: { name: BackendName; why: string }[] = [];
  for (const name of force ? [force] : BACKENDS) {
    const why = (await loadBackend(name)) ?? (await activate(name));
    if (why === undefined) return { name, skipped };
    if (force) throw new BackendError(`--backend ${force} is not available: ${why}`);
    skipped.push({ name, why });
  }
  throw new BackendError(
    `no TensorFlow.js backend could start: ${skipped.map((s) => `${s.name}: ${s.why}`).join("; ")}`,
  );
}

/** One line for the log: which backend runs and why the better ones did not. */
export function describeBackend(choice: BackendChoice): string {
  const why = choice.skipped.map((s) => `${s.name}: ${s.why}`).join("; ");
  return `backend ${choice.name}${why ? ` (skipped ${why})` : ""}`;
}
