import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { ConfigError, readJsonConfig } from "../../src/config/load.js";
import { firstErrorOffset } from "../../src/util/json.js";

const schema = z.strictObject({
  name: z.string(),
  training: z.strictObject({ batchSize: z.number().int().positive(), optimizer: z.enum(["adam", "sgd"]) }),
  layers: z.array(z.strictObject({ units: z.number().int().min(1) })).min(1),
});

function write(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), "distill-config-")), "c.json");
  writeFileSync(file, text);
  return file;
}

describe("JSON config loading", () => {
  const good = { name: "x", training: { batchSize: 8, optimizer: "adam" }, layers: [{ units: 3 }] };

  it("returns the parsed config", () => {
    expect(readJsonConfig(write(JSON.stringify(good)), schema)).toEqual(good);
  });

  it.each([
    [
      { ...good, training: { batchSize: -3, optimizer: "adam" } },
      /training\.batchSize: found -3, expected a number > 0/,
    ],
    [
      { ...good, training: { batchSize: 8, optimizer: "rmsprop" } },
      /training\.optimizer: found "rmsprop", expected one of "adam", "sgd"/,
    ],
    [{ ...good, layers: [{ units: 3 }, { units: "4" }] }, /layers\[1\]\.units: found "4", expected a number/],
    [{ ...good, layers: [] }, /layers: found \[\], expected a list of length >= 1/],
    [{ ...good, trainig: {} }, /: trainig: unknown field \(check the spelling\)/],
    [{ training: good.training, layers: good.layers }, /name: found nothing, expected a string/],
  ])("names the file, the path, the value and the expectation (%#)", (value, message) => {
    const file = write(JSON.stringify(value));
    expect(() => readJsonConfig(file, schema)).toThrow(ConfigError);
    expect(() => readJsonConfig(file, schema)).toThrow(new RegExp(`^${file}: `));
    expect(() => readJsonConfig(file, schema)).toThrow(message);
  });

  it("gives the line and column of a JSON syntax error, and names a missing file", () => {
    const file = write('{\n  "name": "x",\n  "training": }\n');
    expect(() => readJsonConfig(file, schema)).toThrow(/invalid JSON at line 3, column 15/);
    expect(() => readJsonConfig("/nonexistent/c.json", schema)).toThrow("/nonexistent/c.json: no such file");
  });
});

describe("JSON syntax error positions", () => {
  it.each([
    ['{"a": 1,}', 8],
    ['{"a": [1, 2', 11],
    ['{"a" 1}', 5],
    ["[1, 2, 3] x", 10],
    ['{"a": tru}', 9],
    ['{"a": -}', 6],
  ])("finds the first offending character of %s", (text, offset) => {
    expect(() => JSON.parse(text)).toThrow();
    expect(firstErrorOffset(text)).toBe(offset);
  });
});
