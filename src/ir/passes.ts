import { analyzeModel } from "./range.js";
import type { Layer, ModelIR } from "./types.js";

/**
 * Replaces every "exact" product and accumulator type by the narrowest type that holds all
 * values (from range analysis), so that a file states every type explicitly. The result
 * evaluates bit-identically to the input.
 */
export function resolveExactTypes(model: ModelIR): ModelIR {
  const analysis = analyzeModel(model);
  const layers = model.layers.map((layer, i): Layer => {
    const lin = analysis.layers[i].linear;
    if (!lin) return layer;
    if (layer.op === "avgpool2d") return { ...layer, accum: lin.accum };
    return { ...layer, product: lin.product, accum: lin.accum } as Layer;
  });
  return { ...model, layers };
}
