/** A few helpers to write SVG as text: elements are built from attributes and children only. */

export type Attrs = Readonly<Record<string, string | number | undefined>>;

const ENTITIES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/** Text safe inside an element or an attribute value. */
export const esc = (text: string): string => text.replace(/[&<>"']/g, (c) => ENTITIES[c]);

/** Numbers in coordinates: two decimals are finer than a pixel of any plot we draw. */
export const fmt = (v: number): string => String(Math.round(v * 100) / 100);

/** One element; attributes whose value is undefined are left out; children are SVG text. */
export function el(tag: string, attrs: Attrs, ...children: string[]): string {
  const a = Object.entries(attrs)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => ` ${k}="${esc(typeof v === "number" ? fmt(v) : String(v))}"`)
    .join("");
  return children.length ? `<${tag}${a}>${children.join("")}</${tag}>` : `<${tag}${a}/>`;
}

export const FONT = "DejaVu Sans, Liberation Sans, Arial, sans-serif";

/** A whole document with a white background. */
export function svgDocument(width: number, height: number, ...children: string[]): string {
  return el(
    "svg",
    {
      xmlns: "http://www.w3.org/2000/svg",
      width,
      height,
      viewBox: `0 0 ${width} ${height}`,
      "font-family": FONT,
      "font-size": 12,
    },
    el("rect", { x: 0, y: 0, width, height, fill: "white" }),
    ...children,
  );
}

/** A polyline path through the points; NaN points break the line. */
export function pathData(points: readonly (readonly [number, number])[]): string {
  let d = "";
  let pen = false;
  for (const [x, y] of points) {
    if (!Number.isFinite(x) || !Number.isFinite(y)) {
      pen = false;
      continue;
    }
    d += `${pen ? "L" : "M"}${fmt(x)} ${fmt(y)}`;
    pen = true;
  }
  return d;
}

/** Colours that stay apart for the usual colour-vision deficiencies (Okabe and Ito). */
export const PALETTE = [
  "#0072B2",
  "#D55E00",
  "#009E73",
  "#CC79A7",
  "#E69F00",
  "#56B4E9",
  "#F0E442",
  "#000000",
];
export const color = (i: number): string => PALETTE[i % PALETTE.length];
