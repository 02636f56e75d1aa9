import * as tf from "@tensorflow/tfjs-core";
import { describe, expect, it } from "vitest";
import { BackendError, type BackendName, describeBackend, selectBackend } from "../../src/nn/backend.js";

describe("backend selection", () => {
  it("tries the native backends first and says why they were skipped, then runs wasm", async () => {
    const choice = await selectBackend();
    // The development and CI machines cannot install the native packages.
    expect(choice.name).toBe("wasm");
    expect(choice.skipped.map((s) => s.name)).toEqual(["tensorflow-gpu", "tensorflow"]);
    expect(choice.skipped[1].why).toMatch(/@tensorflow\/tfjs-node is not installed/);
    expect(tf.getBackend()).toBe("wasm");
    expect(describeBackend(choice)).toMatch(/^backend wasm \(skipped tensorflow-gpu: /);
  });

  it("forces a backend, and refuses an unavailable or unknown one with the reason", async () => {
    expect((await selectBackend("cpu")).name).toBe("cpu");
    expect(tf.getBackend()).toBe("cpu");
    await expect(selectBackend("tensorflow")).rejects.toThrow(BackendError);
    await expect(selectBackend("tensorflow")).rejects.toThrow(
      /--backend tensorflow is not available: .*not installed/,
    );
    await expect(selectBackend("gpu" as BackendName)).rejects.toThrow(
      /expected one of tensorflow-gpu, tensorflow, wasm, cpu/,
    );
  });
});
