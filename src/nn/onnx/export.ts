import { readFileSync } from "node:fs";
import type * as tf from "@tensorflow/tfjs-core";
import type * as tfl from "@tensorflow/tfjs-layers";
import { match, P } from "ts-pattern";
import { TEACHER_INPUT_SHAPE } from "../../config/teacher.js";
import { writeFileAtomic } from "../../util/atomic.js";
import { UserError } from "../../util/errors.js";
import {
  type Attribute,
  AttributeType,
  decodeModel,
  encodeModel,
  floatTensor,
  floatValueInfo,
  IR_VERSION,
  int64Tensor,
  type Model,
  type Node,
  type Tensor,
} from "./proto.js";

/**
 * tfjs teacher -> ONNX (opset 13). The tfjs model is channels-last (NHWC) and ONNX's Conv and
 * pooling are channels-first, so the graph transposes its NHWC input to NCHW once, runs every
 * image layer in NCHW, and transposes back to NHWC wherever tfjs's memory order is visible:
 * before a Flatten (tfjs flattens h, w, c with c fastest, and the Dense kernel's rows follow
 * that order), after a Reshape to an image (its target shape is NHWC), and at the output.
 *
 * Graph inputs and outputs, with a free batch dimension N:
 *   counts_scaled  [N, 18, 14, 1] float32  the model input (counts x input scale), as in tfjs
 *   reconstruction [N, 18, 14, 1] float32  the teacher's output
 *   mse            [N]            float32  mean over the 252 regions of (reconstruction - input)^2
 */
export class OnnxExportError extends UserError {
  override readonly name = "OnnxExportError";
}

export const ONNX_OPSET = 13;
export const ONNX_INPUT = "counts_scaled";
export const ONNX_RECONSTRUCTION = "reconstruction";
export const ONNX_MSE = "mse";

/** Graph-level facts the scorer needs, stored as ONNX metadata_props `distill.KEY`. */
export interface OnnxTeacherMetadata {
  readonly inputScale: number;
  readonly targetType: string;
  /** The tfjs model's name (the teacher config's name). */
  readonly name: string;
}

/**
 * An image's channels `c` are held as `cp` >= c physical channels, the extra ones ignored by
 * every consumer (zero weights in the next Conv, sliced off before a Flatten and at the
 * output). Padding 20 or 30 channels to a multiple of 8 lets ONNX Runtime run every Conv in
 * its blocked (NCHWc) kernels: the CICADA teacher then scores about 25 % more events per
 * CPU second although it computes more.
 */
type Shape =
  | {
      readonly layout: "nchw";
      readonly c: number;
      readonly cp: number;
      readonly h: number;
      readonly w: number;
    }
  | {
      readonly layout: "flat";
      readonly n: number;
    };

class GraphBuilder {
  readonly nodes: Node[] = [];
  readonly initializers: Tensor[] = [];
  private count = 0;

  node(op: string, inputs: readonly string[], attrs: readonly Attribute[] = [], hint = op): string {
    const out = `${hint}_${this.count++}`;
    this.nodes.push({ name: out, op_type: op, input: inputs, output: [out], attribute: attrs });
    return out;
  }

  /** Renames the last node's output (for graph outputs with fixed names). */
  nameLast(name: string): string {
    const last = this.nodes[this.nodes.length - 1];
    this.nodes[this.nodes.length - 1] = { ...last, name, output: [name] };
    return name;
  }

  floats(name: string, dims: readonly number[], values: Float32Array): string {
    this.initializers.push(floatTensor(name, dims, values));
    return name;
  }

  int64s(name: string, values: readonly number[]): string {
    this.initializers.push(int64Tensor(name, values));
    return name;
  }
}

const ints = (name: string, v: readonly number[]): Attribute => ({ name, type: AttributeType.INTS, ints: v });
const int = (name: string, v: number): Attribute => ({ name, type: AttributeType.INT, i: v });
const str = (name: string, v: string): Attribute => ({
  name,
  type: AttributeType.STRING,
  s: new TextEncoder().encode(v),
});

const CHANNEL_BLOCK = 8;

/** The physical channel count: a multiple of the block from one block up, else unchanged. */
function paddedChannels(c: number): number {
  return c >= CHANNEL_BLOCK ? Math.ceil(c / CHANNEL_BLOCK) * CHANNEL_BLOCK : c;
}

/** TensorFlow's "same" padding: the total is split with the extra pixel at the end. */
function samePads(n: number, k: number, s: number): [number, number] {
  const total = Math.max((Math.ceil(n / s) - 1) * s + k - n, 0);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

function outSize(n: number, k: number, s: number, padding: string): number {
  return padding === "same" ? Math.ceil(n / s) : Math.floor((n - k) / s) + 1;
}

interface LayerConfig {
  readonly filters?: number;
  readonly units?: number;
  readonly kernelSize?: number | number[];
  readonly poolSize?: number | number[];
  readonly strides?: number | number[] | null;
  readonly size?: number | number[];
  readonly padding?: string;
  readonly dataFormat?: string;
  readonly dilationRate?: number | number[];
  readonly activation?: string;
  readonly useBias?: boolean;
  readonly targetShape?: number[];
  readonly interpolation?: string;
}

const pair = (v: number | number[] | null | undefined, fallback: [number, number]): [number, number] =>
  v == null ? fallback : typeof v === "number" ? [v, v] : [v[0], v[1]];

/** Builds the ONNX model of a tfjs teacher (a chain of layers from one NHWC image input). */
export function teacherToOnnx(model: tfl.LayersModel, meta: OnnxTeacherMetadata): Model {
  const where = (l: tfl.layers.Layer) => `layer ${l.name} (${l.getClassName()})`;
  const inputShape = model.inputs[0]?.shape;
  if (model.inputs.length !== 1 || inputShape?.slice(1).join() !== TEACHER_INPUT_SHAPE.join()) {
    throw new OnnxExportError(
      `model ${model.name}: found inputs ${model.inputs.map((i) => `[${i.shape}]`).join(", ")}, expected one input [null,${TEACHER_INPUT_SHAPE}]`,
    );
  }
  const g = new GraphBuilder();
  const [h0, w0, c0] = TEACHER_INPUT_SHAPE;
  let x = g.node("Transpose", [ONNX_INPUT], [ints("perm", [0, 3, 1, 2])], "to_nchw");
  let shape: Shape = { layout: "nchw", c: c0, cp: c0, h: h0, w: w0 };
  let previous = model.layers[0];
  const image = (l: tfl.layers.Layer) => {
    if (shape.layout !== "nchw")
      throw new OnnxExportError(`${where(l)}: expected an image input, found a flat vector`);
    return shape;
  };
  /** An NCHW image in tfjs's NHWC layout, without padding channels. */
  const toNhwc = (t: string, s: { c: number; cp: number }) => {
    const nhwc = g.node("Transpose", [t], [ints("perm", [0, 2, 3, 1])], "to_nhwc");
    if (s.cp === s.c) return nhwc;
    const k = g.initializers.length;
    return g.node("Slice", [
      nhwc,
      g.int64s(`unpad_${k}.starts`, [0]),
      g.int64s(`unpad_${k}.ends`, [s.c]),
      g.int64s(`unpad_${k}.axes`, [3]),
    ]);
  };
  const flatten = (t: string) => {
    if (shape.layout === "flat") return t;
    return g.node("Flatten", [toNhwc(t, shape)], [int("axis", 1)]);
  };

  for (const layer of model.layers.slice(1)) {
    const inbound = layer.inboundNodes.flatMap((n) => n.inboundLayers);
    if (inbound.length !== 1 || inbound[0] !== previous) {
      throw new OnnxExportError(
        `${where(layer)}: expected a chain of layers, this one does not follow ${previous.name}`,
      );
    }
    previous = layer;
    const cfg = layer.getConfig() as LayerConfig;
    if (cfg.dataFormat !== undefined && cfg.dataFormat !== "channelsLast") {
      throw new OnnxExportError(`${where(layer)}: found dataFormat ${cfg.dataFormat}, expected channelsLast`);
    }
    const weights = () =>
      layer.getWeights().map((t: tf.Tensor) => ({ shape: t.shape, data: t.dataSync() as Float32Array }));
    const kind = layer.getClassName();
    x = match(kind)
      .with("Conv2D", () => {
        const s = image(layer);
        const [kh, kw] = pair(cfg.kernelSize, [1, 1]);
        const [sh, sw] = pair(cfg.strides, [1, 1]);
        const [dh, dw] = pair(cfg.dilationRate, [1, 1]);
        if (dh !== 1 || dw !== 1)
          throw new OnnxExportError(`${where(layer)}: dilation ${dh}x${dw} is not supported`);
        const [kernel, bias] = weights();
        const cout = cfg.filters!;
        const cp = paddedChannels(cout);
        // tfjs kernel [kh, kw, cin, cout] -> ONNX [cp, s.cp, kh, kw], zero for padding channels
        const wt = new Float32Array(cp * s.cp * kh * kw);
        for (let i = 0; i < kh; i++)
          for (let j = 0; j < kw; j++)
            for (let ci = 0; ci < s.c; ci++)
              for (let co = 0; co < cout; co++)
                wt[((co * s.cp + ci) * kh + i) * kw + j] = kernel.data[((i * kw + j) * s.c + ci) * cout + co];
        const inputs = [x, g.floats(`${layer.name}.kernel`, [cp, s.cp, kh, kw], wt)];
        if (cfg.useBias && bias) {
          const b = new Float32Array(cp);
          b.set(bias.data);
          inputs.push(g.floats(`${layer.name}.bias`, [cp], b));
        }
        const [pt, pb] = cfg.padding === "same" ? samePads(s.h, kh, sh) : [0, 0];
        const [pl, pr] = cfg.padding === "same" ? samePads(s.w, kw, sw) : [0, 0];
        const y = g.node("Conv", inputs, [
          ints("kernel_shape", [kh, kw]),
          ints("strides", [sh, sw]),
          ints("pads", [pt, pl, pb, pr]),
        ]);
        shape = {
          layout: "nchw",
          c: cout,
          cp,
          h: outSize(s.h, kh, sh, cfg.padding!),
          w: outSize(s.w, kw, sw, cfg.padding!),
        };
        return activation(g, y, cfg.activation, layer);
      })
      .with(P.union("AveragePooling2D", "MaxPooling2D"), (k) => {
        const s = image(layer);
        const [kh, kw] = pair(cfg.poolSize, [2, 2]);
        const [sh, sw] = pair(cfg.strides, [kh, kw]);
        const [pt, pb] = cfg.padding === "same" ? samePads(s.h, kh, sh) : [0, 0];
        const [pl, pr] = cfg.padding === "same" ? samePads(s.w, kw, sw) : [0, 0];
        const attrs = [
          ints("kernel_shape", [kh, kw]),
          ints("strides", [sh, sw]),
          ints("pads", [pt, pl, pb, pr]),
        ];
        // TensorFlow averages over the valid pixels only: padding is not counted.
        if (k === "AveragePooling2D") attrs.push(int("count_include_pad", 0));
        shape = {
          layout: "nchw",
          c: s.c,
          cp: s.cp,
          h: outSize(s.h, kh, sh, cfg.padding!),
          w: outSize(s.w, kw, sw, cfg.padding!),
        };
        return g.node(k === "AveragePooling2D" ? "AveragePool" : "MaxPool", [x], attrs);
      })
      .with("UpSampling2D", () => {
        const s = image(layer);
        if (cfg.interpolation !== undefined && cfg.interpolation !== "nearest") {
          throw new OnnxExportError(
            `${where(layer)}: found interpolation ${cfg.interpolation}, expected nearest`,
          );
        }
        const [fh, fw] = pair(cfg.size, [2, 2]);
        const scales = g.floats(`${layer.name}.scales`, [4], new Float32Array([1, 1, fh, fw]));
        shape = { layout: "nchw", c: s.c, cp: s.cp, h: s.h * fh, w: s.w * fw };
        // Integer factors with asymmetric coordinates and floor: output pixel i copies input i / f.
        return g.node(
          "Resize",
          [x, "", scales],
          [
            str("mode", "nearest"),
            str("coordinate_transformation_mode", "asymmetric"),
            str("nearest_mode", "floor"),
          ],
        );
      })
      .with("Flatten", () => {
        const n = shape.layout === "flat" ? shape.n : shape.c * shape.h * shape.w;
        const y = flatten(x);
        shape = { layout: "flat", n };
        return y;
      })
      .with("Dense", () => {
        if (shape.layout !== "flat")
          throw new OnnxExportError(`${where(layer)}: expected a flat input (add a flatten)`);
        const [kernel, bias] = weights();
        const units = cfg.units!;
        const inputs = [x, g.floats(`${layer.name}.kernel`, [shape.n, units], kernel.data)];
        if (cfg.useBias && bias) inputs.push(g.floats(`${layer.name}.bias`, [units], bias.data));
        shape = { layout: "flat", n: units };
        return activation(g, g.node("Gemm", inputs), cfg.activation, layer);
      })
      .with("Reshape", () => {
        const t = cfg.targetShape ?? [];
        const flat = flatten(x);
        if (t.length === 1) {
          shape = { layout: "flat", n: t[0] };
          return flat;
        }
        if (t.length !== 3)
          throw new OnnxExportError(`${where(layer)}: found target shape [${t}], expected [n] or [h, w, c]`);
        const [h, w, c] = t;
        const nhwc = g.node("Reshape", [flat, g.int64s(`${layer.name}.shape`, [-1, h, w, c])]);
        const cp = paddedChannels(c);
        shape = { layout: "nchw", c, cp, h, w };
        const nchw = g.node("Transpose", [nhwc], [ints("perm", [0, 3, 1, 2])], "to_nchw");
        if (cp === c) return nchw;
        return g.node("Pad", [nchw, g.int64s(`${layer.name}.pads`, [0, 0, 0, 0, 0, cp - c, 0, 0])]);
      })
      .with("Activation", () => activation(g, x, cfg.activation, layer))
      .otherwise(() => {
        throw new OnnxExportError(
          `${where(layer)}: no ONNX export for this layer (supported: Conv2D, AveragePooling2D, MaxPooling2D, UpSampling2D, Flatten, Dense, Reshape, Activation)`,
        );
      });
  }
  const end = image(previous);
  if (end.c !== c0 || end.h !== h0 || end.w !== w0) {
    throw new OnnxExportError(
      `model ${model.name}: the output is [${end.h},${end.w},${end.c}], expected [${TEACHER_INPUT_SHAPE}]`,
    );
  }
  toNhwc(x, end);
  const recon = g.nameLast(ONNX_RECONSTRUCTION);
  const diff = g.node("Sub", [recon, ONNX_INPUT]);
  const sq = g.node("Mul", [diff, diff]);
  g.node("ReduceMean", [sq], [ints("axes", [1, 2, 3]), int("keepdims", 0)]);
  g.nameLast(ONNX_MSE);

  const batch = "N";
  return {
    ir_version: IR_VERSION,
    producer_name: "distill",
    producer_version: "1",
    opset_import: [{ domain: "", version: ONNX_OPSET }],
    graph: {
      name: model.name,
      node: g.nodes,
      initializer: g.initializers,
      input: [floatValueInfo(ONNX_INPUT, [batch, h0, w0, c0])],
      output: [floatValueInfo(ONNX_RECONSTRUCTION, [batch, h0, w0, c0]), floatValueInfo(ONNX_MSE, [batch])],
    },
    metadata_props: [
      { key: "distill.kind", value: "teacher" },
      { key: "distill.inputScale", value: String(meta.inputScale) },
      { key: "distill.targetType", value: meta.targetType },
      { key: "distill.name", value: meta.name },
    ],
  };
}

function activation(g: GraphBuilder, x: string, act: string | undefined, layer: tfl.layers.Layer): string {
  return match(act ?? "linear")
    .with("linear", () => x)
    .with("relu", () => g.node("Relu", [x]))
    .with("sigmoid", () => g.node("Sigmoid", [x]))
    .with("tanh", () => g.node("Tanh", [x]))
    .otherwise((a) => {
      throw new OnnxExportError(
        `layer ${layer.name}: found activation ${a}, expected one of linear, relu, sigmoid, tanh`,
      );
    });
}

/** Writes the ONNX file of a teacher atomically; returns its size in bytes. */
export function exportTeacherOnnx(model: tfl.LayersModel, meta: OnnxTeacherMetadata, file: string): number {
  const bytes = encodeModel(teacherToOnnx(model, meta));
  writeFileAtomic(file, bytes);
  return bytes.length;
}

/** The distill metadata of an exported teacher file, checked. */
export function readOnnxTeacherMetadata(file: string): OnnxTeacherMetadata {
  let model: Model;
  try {
    model = decodeModel(readFileSync(file));
  } catch (e) {
    throw new OnnxExportError(`${file}: not an ONNX model (${(e as Error).message})`);
  }
  const props = new Map((model.metadata_props ?? []).map((p) => [p.key, p.value]));
  if (props.get("distill.kind") !== "teacher") {
    throw new OnnxExportError(
      `${file}: metadata distill.kind is ${JSON.stringify(props.get("distill.kind") ?? null)}, expected "teacher" (a teacher exported by distill export-onnx)`,
    );
  }
  const inputScale = Number(props.get("distill.inputScale"));
  if (!(inputScale > 0)) {
    throw new OnnxExportError(
      `${file}: metadata distill.inputScale is ${props.get("distill.inputScale")}, expected a positive number`,
    );
  }
  return {
    inputScale,
    targetType: props.get("distill.targetType") ?? "",
    name: props.get("distill.name") ?? "",
  };
}
