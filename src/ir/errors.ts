import { UserError } from "../util/errors.js";
export type JsonPath = readonly (string | number)[];

export function formatPath(path: JsonPath): string {
  let out = "";
  for (const p of path) out += typeof p === "number" ? `[${p}]` : out === "" ? p : `.${p}`;
  return out === "" ? "(root)" : out;
}

function show(value: unknown): string {
  if (value === undefined) return "nothing";
  const text = typeof value === "string" ? JSON.stringify(value) : (JSON.stringify(value) ?? String(value));
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** A problem in a model IR file: where (file and JSON path), what was found, what was expected. */
export class IrError extends UserError {
  override readonly name = "IrError";
  constructor(
    readonly path: JsonPath,
    readonly found: unknown,
    readonly expected: string,
    readonly file?: string,
  ) {
    super(`${file ? `${file}: ` : ""}${formatPath(path)}: found ${show(found)}, expected ${expected}`);
  }

  withFile(file: string): IrError {
    return new IrError(this.path, this.found, this.expected, file);
  }
}
