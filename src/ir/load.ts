import { readFileSync } from "node:fs";
import { writeFileAtomic } from "../util/atomic.js";
import { JsonSyntaxError, parseJsonWithPosition } from "../util/json.js";
import { IrError } from "./errors.js";
import { modelToJson, parseModelJson } from "./schema.js";
import type { ModelIR } from "./types.js";
import { validateModel } from "./validate.js";

/** Parses and fully validates a model from JSON text; errors carry the file name. */
export function parseModel(text: string, file?: string): ModelIR {
  let raw: unknown;
  try {
    raw = parseJsonWithPosition(text);
  } catch (e) {
    if (!(e instanceof JsonSyntaxError)) throw e;
    throw new IrError(
      [],
      `invalid JSON at line ${e.line}, column ${e.column} (${e.detail})`,
      "a JSON document",
      file,
    );
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
