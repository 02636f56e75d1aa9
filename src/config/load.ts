import { existsSync, readFileSync } from "node:fs";
import type { z } from "zod";
import { UserError } from "../util/errors.js";
import { JsonSyntaxError, parseJsonWithPosition } from "../util/json.js";

/**
 * A problem in a config file: the file, the JSON path, what was found and what was expected,
 * e.g. `configs/cae.json: training.batchSize: found -3, expected a number > 0`.
 */
export class ConfigError extends UserError {
  override readonly name = "ConfigError";
}

type Path = readonly PropertyKey[];

export function formatConfigPath(path: Path): string {
  let out = "";
  for (const p of path) out += typeof p === "number" ? `[${p}]` : out === "" ? String(p) : `.${String(p)}`;
  return out === "" ? "(root)" : out;
}

function valueAt(root: unknown, path: Path): unknown {
  let v = root;
  for (const p of path) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<PropertyKey, unknown>)[p];
  }
  return v;
}

function show(value: unknown): string {
  if (value === undefined) return "nothing";
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** Zod's message without its "Invalid input: " lead, phrased as what was expected. */
function expectation(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case "invalid_type":
      return /^[aeiou]/.test(issue.expected) ? `an ${issue.expected}` : `a ${issue.expected}`;
    case "too_small":
      return `${issue.origin === "array" ? "a list of length" : "a number"} ${issue.inclusive ? ">=" : ">"} ${issue.minimum}`;
    case "too_big":
      return `${issue.origin === "array" ? "a list of length" : "a number"} ${issue.inclusive ? "<=" : "<"} ${issue.maximum}`;
    case "invalid_value":
      return `one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}`;
    case "unrecognized_keys":
      return `no key ${issue.keys.map((k) => JSON.stringify(k)).join(", ")} here`;
    default:
      return issue.message.replace(/^Invalid input: /, "");
  }
}

/** The first schema violation of `raw` as a one-line ConfigError naming file, path, value. */
export function configIssue(file: string, raw: unknown, error: z.ZodError): ConfigError {
  const issue = error.issues[0];
  if (issue.code === "unrecognized_keys") {
    const path = [...issue.path, issue.keys[0]];
    return new ConfigError(`${file}: ${formatConfigPath(path)}: unknown field (check the spelling)`);
  }
  const found = valueAt(raw, issue.path);
  return new ConfigError(
    `${file}: ${formatConfigPath(issue.path)}: found ${show(found)}, expected ${expectation(issue)}`,
  );
}

/** Parses JSON text; a syntax error names the line and column. */
export function parseJsonText(text: string, file: string): unknown {
  try {
    return parseJsonWithPosition(text);
  } catch (e) {
    if (e instanceof JsonSyntaxError) throw new ConfigError(`${file}: ${e.message}`);
    throw e;
  }
}

/** Reads a JSON config file and validates it against a schema, with one-line errors. */
export function readJsonConfig<S extends z.ZodType>(file: string, schema: S): z.output<S> {
  if (!existsSync(file)) throw new ConfigError(`${file}: no such file`);
  const raw = parseJsonText(readFileSync(file, "utf8"), file);
  return validateConfig(file, raw, schema);
}

/** Validates an already parsed config object (e.g. embedded in a run folder's run.json). */
export function validateConfig<S extends z.ZodType>(file: string, raw: unknown, schema: S): z.output<S> {
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw configIssue(file, raw, parsed.error);
  return parsed.data;
}
