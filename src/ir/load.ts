import { readFileSync } from "node:fs";
import { writeFileAtomic } from "../util/atomic.js";
import { IrError } from "./errors.js";
import { modelToJson, parseModelJson } from "./schema.js";
import type { ModelIR } from "./types.js";
import { validateModel } from "./validate.js";

/** Parses and fully validates a model from JSON text; errors carry the file name. */
export function parseModel(text: string, file?: string): ModelIR {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    const pos = /position (\d+)/.exec(msg);
    const where = pos ? lineColumn(text, Number(pos[1])) : "";
    throw new IrError([], `invalid JSON${where} (${msg})`, "a JSON document", file);
  }
  try {
    const model = parseModelJson(raw);
    validateModel(model);
    return model;
  } catch (e) {
    if (e instanceof IrError && file) throw e.withFile(file);
    throw e;
  }
}

function lineColumn(text: string, pos: number): string {
  const before = text.slice(0, pos).split("\n");
  return ` at line ${before.length}, column ${before[before.length - 1].length + 1}`;
}

export function readModel(file: string): ModelIR {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new IrError([], (e as NodeJS.ErrnoException).code ?? String(e), "a readable model IR file", file);
  }
  return parseModel(text, file);
}

export function writeModel(file: string, model: ModelIR): void {
  writeFileAtomic(file, `${JSON.stringify(modelToJson(model), null, 1)}\n`);
}
