import {
  type FixedType,
  FixedTypeError,
  fixedTypeProblem,
  OVERFLOW_MODES,
  type OverflowMode,
  ROUNDING_MODES,
  type RoundingMode,
} from "./types.js";

const PATTERN = /^\s*ap_(u?)(fixed|int)\s*<\s*([^>]*)>\s*$/;

/**
 * Parses the `ap_fixed` spellings used by Vitis HLS and hls4ml:
 * `ap_fixed<16,6>`, `ap_ufixed<10,6,AP_RND_CONV,AP_SAT>`, `ap_fixed<8,3,AP_RND,AP_SAT,0>`,
 * `ap_int<8>`, `ap_uint<10>`. The `AP_` prefix of the modes is optional.
 */
export function parseFixedType(text: string): FixedType {
  const m = PATTERN.exec(text);
  if (!m) {
    throw new FixedTypeError(
      `cannot parse fixed-point type "${text}": expected ap_fixed<W,I[,Q[,O]]>, ap_ufixed<...>, ap_int<W> or ap_uint<W>`,
    );
  }
  const signed = m[1] !== "u";
  const isInt = m[2] === "int";
  const args = m[3].split(",").map((s) => s.trim());
  const numbers = (i: number, what: string): number => {
    const v = Number(args[i]);
    if (args[i] === undefined || args[i] === "" || !Number.isInteger(v)) {
      throw new FixedTypeError(`in "${text}": ${what} must be an integer, found "${args[i] ?? ""}"`);
    }
    return v;
  };
  if (isInt) {
    if (args.length !== 1) throw new FixedTypeError(`in "${text}": ap_int takes one argument, the width`);
    const w = numbers(0, "width");
    return checked({ signed, width: w, int: w, round: "TRN", overflow: "WRAP" }, text);
  }
  if (args.length < 2 || args.length > 5) {
    throw new FixedTypeError(`in "${text}": expected 2 to 5 arguments <W,I,Q,O,N>, found ${args.length}`);
  }
  const width = numbers(0, "width");
  const int = numbers(1, "integer bits");
  const round = args.length > 2 ? mode(args[2], ROUNDING_MODES, "rounding mode", text) : "TRN";
  const overflow = args.length > 3 ? mode(args[3], OVERFLOW_MODES, "overflow mode", text) : "WRAP";
  if (args.length > 4 && numbers(4, "saturation bits") !== 0) {
    throw new FixedTypeError(`in "${text}": only 0 saturation bits (the N parameter) are supported`);
  }
  return checked({ signed, width, int, round, overflow }, text);
}

function mode<T extends string>(raw: string, allowed: readonly T[], what: string, text: string): T {
  const name = raw.replace(/^AP_/, "");
  if ((allowed as readonly string[]).includes(name)) return name as T;
  throw new FixedTypeError(
    `in "${text}": unknown ${what} "${raw}", expected one of ${allowed.map((a) => `AP_${a}`).join(", ")}`,
  );
}

function checked(t: FixedType, text: string): FixedType {
  const problem = fixedTypeProblem(t);
  if (problem) throw new FixedTypeError(`in "${text}": ${problem}`);
  return t;
}

/** Prints the shortest `ap_fixed` spelling that parses back to `t`. */
export function formatFixedType(t: FixedType): string {
  const base = `ap_${t.signed ? "" : "u"}fixed<${t.width},${t.int}`;
  if (t.overflow !== "WRAP") return `${base},AP_${t.round},AP_${t.overflow}>`;
  if (t.round !== "TRN") return `${base},AP_${t.round}>`;
  return `${base}>`;
}

export type { OverflowMode, RoundingMode };
