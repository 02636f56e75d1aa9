import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { selectBackend } from "../../../src/nn/backend.js";
import { conv2dAsMatMul } from "../../../src/nn/student/model.js";
import { rng } from "../../../src/util/rng.js";

describe("convolution as patches x kernel", () => {
  beforeAll(async () => {
    await selectBackend("cpu");
  });
  it("equals tf.conv2d for strides, paddings and kernel sizes (integer data: exact)", () => {
    const r = rng(5);
    for (const [h, w, c, k, s, f, padding] of [
      [18, 14, 1, 2, 2, 4, "valid"],
      [18, 14, 1, 3, 1, 3, "same"],
      [9, 7, 2, 3, 2, 2, "same"],
      [9, 7, 3, 2, 3, 2, "valid"],
      [5, 6, 1, 1, 1, 2, "same"],
    ] as const) {
      const x = tf.tensor4d(
        Float32Array.from({ length: 2 * h * w * c }, () => r.int(0, 50)),
        [2, h, w, c],
      );
      const kernel = tf.tensor4d(
        Float32Array.from({ length: k * k * c * f }, () => r.int(-8, 8)),
        [k, k, c, f],
      );
      const ours = conv2dAsMatMul(x, kernel, [s, s], padding);
      const ref = tf.conv2d(x, kernel, [s, s], padding);
      expect(ours.shape).toEqual(ref.shape);
      expect(Array.from(ours.dataSync())).toEqual(Array.from(ref.dataSync()));
    }
  });
});
