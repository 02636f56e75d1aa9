import type { CommandModule } from "yargs";
import { type SynthTool, synthesizeDesign } from "../synth/run.js";

export const synthCommand: CommandModule<object, { dir: string; tool: SynthTool }> = {
  command: "synth <dir>",
  describe: "Synthesise an emitted design (Yosys synth_xilinx, or Vivado when on PATH) and print resources",
  builder: (y) =>
    y
      .positional("dir", {
        type: "string",
        demandOption: true,
        describe: "an emitted design directory (report.json)",
      })
      .option("tool", {
        choices: ["yosys", "vivado", "auto"] as const,
        default: "auto" as SynthTool,
        describe: "auto: Vivado when on PATH, else Yosys",
      }),
  handler: async (args) => {
    const { result: r, note } = await synthesizeDesign(args.dir, args.tool);
    if (note) console.log(note);
    const timing = r.wnsNs === undefined ? "" : `, WNS ${r.wnsNs.toFixed(3)} ns`;
    console.log(
      `${r.tool} ${r.target}: LUT ${r.luts} (SRL ${r.srls}), FF ${r.ffs}, CARRY ${r.carry}, DSP ${r.dsps}${timing} ` +
        `(${r.seconds.toFixed(1)} s)`,
    );
  },
};
