import { existsSync, readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { ConfigError, readJsonConfig } from "./load.js";

export { ConfigError } from "./load.js";

/**
 * An FPGA target: part, synthesis family and the delay model the scheduler uses to place
 * pipeline registers. Files live in configs/targets/NAME.json.
 */
export const targetSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9_.-]+$/),
    description: z.string(),
    part: z.string().min(1),
    /** Yosys synth_xilinx -family value. */
    family: z.enum(["xc7", "xcup"]),
    clockMhz: z.number().positive(),
    delaysNs: z
      .object({
        clockToQ: z.number().nonnegative(),
        setup: z.number().nonnegative(),
        lut: z.number().positive(),
        route: z.number().nonnegative(),
        /** Delay through one carry cell (CARRY4 or CARRY8). */
        carryCell: z.number().positive(),
        carryCellBits: z.number().int().positive(),
      })
      .strict(),
    /** Fraction of the clock period kept free for routing congestion and clock uncertainty. */
    margin: z.number().min(0).max(0.9),
  })
  .strict();

export type Target = z.infer<typeof targetSchema>;

const targetsDir = fileURLToPath(new URL("../../configs/targets/", import.meta.url));

/** A target by name (configs/targets/NAME.json) or by path to a JSON file. */
export function loadTarget(nameOrPath: string): Target {
  const file = nameOrPath.endsWith(".json") ? nameOrPath : `${targetsDir}${nameOrPath}.json`;
  if (!existsSync(file)) {
    const known = readdirSync(targetsDir)
      .filter((f) => f.endsWith(".json"))
      .map((f) => f.slice(0, -5));
    throw new ConfigError(`${file}: no such target file (known targets: ${known.join(", ")})`);
  }
  return readJsonConfig(file, targetSchema);
}
