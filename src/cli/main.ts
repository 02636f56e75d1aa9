#!/usr/bin/env node
import { readFileSync } from "node:fs";
import yargs from "yargs";
import { hideBin } from "yargs/helpers";
import { UserError } from "../util/errors.js";
import { cosimCommand } from "./cosim.js";
import { dataCommand } from "./data.js";
import { emitRtlCommand } from "./emit-rtl.js";
import { evalCommand } from "./eval.js";
import { inspectCommand } from "./inspect.js";
import { runCommand } from "./run.js";
import { exportOnnxCommand, scoreCommand } from "./score.js";
import { synthCommand } from "./synth.js";
import { trainCommand } from "./train.js";

const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
  version: string;
};

/** Errors a user can fix print as one line; anything else is a bug and keeps its stack. */
function report(e: unknown): never {
  if (e instanceof UserError) {
    console.error(`distill: ${e.message}`);
    process.exit(1);
  }
  throw e;
}

try {
  await yargs(hideBin(process.argv))
    .scriptName("distill")
    .version(pkg.version)
    .command(inspectCommand)
    .command(dataCommand)
    .command(emitRtlCommand)
    .command(cosimCommand)
    .command(synthCommand)
    .command(trainCommand)
    .command(scoreCommand)
    .command(exportOnnxCommand)
    .command(evalCommand)
    .command(runCommand)
    .demandCommand(1, "name a command (see --help)")
    .strict()
    .fail((msg, err, y) => {
      if (err) report(err);
      console.error(`${y.help()}\n\n${msg}`);
      process.exit(2);
    })
    .parseAsync();
} catch (e) {
  // A failed .check() inside a nested command (data generate) reaches here as its message.
  if (typeof e === "string") {
    console.error(`distill: ${e}`);
    process.exit(2);
  }
  report(e);
}
