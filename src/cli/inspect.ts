import { match } from "ts-pattern";
import type { CommandModule } from "yargs";
import { formatFixedType } from "../fixed/index.js";
import { analyzeModel, type Layer, readModel } from "../ir/index.js";
import { table } from "./table.js";

const minOf = (v: readonly bigint[]) => v.reduce((m, x) => (x < m ? x : m), v[0]);
const maxOf = (v: readonly bigint[]) => v.reduce((m, x) => (x > m ? x : m), v[0]);

export const inspectCommand: CommandModule<object, { model: string }> = {
  command: "inspect <model>",
  describe: "Show a model IR file's layers, shapes, types, parameters and value ranges",
  builder: (y) => y.positional("model", { type: "string", demandOption: true, describe: "a *.ir.json file" }),
  handler: (args) => {
    const model = readModel(args.model);
    const a = analyzeModel(model);
    console.log(`${model.name}  (${args.model})${model.source ? `\n${model.source}` : ""}`);
    console.log(`input [${model.input.shape}] ${formatFixedType(model.input.type)}\n`);
    let params = 0;
    let nonzero = 0;
    const rows = a.layers.map((l) => {
      const lin = l.linear;
      const [p, nz] = parameterCounts(l.layer);
      params += p;
      nonzero += nz;
      return [
        String(l.index),
        l.layer.name,
        l.layer.op,
        `[${l.outShape}]`,
        lin ? formatFixedType(lin.product) : "",
        lin ? formatFixedType(lin.accum) : "",
        formatFixedType(l.outType),
        p ? `${p}` : "",
        p ? `${nz}` : "",
        lin ? `${minOf(lin.sum.lo)}..${maxOf(lin.sum.hi)}` : "",
        `${minOf(l.output.lo)}..${maxOf(l.output.hi)}`,
      ];
    });
    console.log(
      table(
        [
          "#",
          "layer",
          "op",
          "output shape",
          "product",
          "accumulator",
          "output",
          "params",
          "non-zero",
          "sum range",
          "output range",
        ],
        rows,
      ),
    );
    console.log(
      `\n${params} parameters, ${nonzero} non-zero; ranges are integer mantissas of the types shown`,
    );
    for (const w of a.warnings) console.log(`warning: ${w.message}`);
  },
};

/** Integers a layer stores, and how many of them are non-zero. */
function parameterCounts(layer: Layer): [number, number] {
  const vectors = match(layer)
    .with({ op: "dense" }, { op: "conv2d" }, (l) => [l.weights.values, l.bias?.values ?? []])
    .with({ op: "batchnorm" }, (l) => [l.scale.values, l.shift.values])
    .otherwise(() => []);
  const all = vectors.flat();
  return [all.length, all.filter((v) => v !== 0).length];
}
