/**
 * Renders docs/data-distributions.png, the README's picture of the toy detector: mean
 * occupancy of each region in background events, and the per-event ET sum of background and
 * each signal (20,000 events each, seed 1, default config). SVG drawn here, PNG by sharp.
 */
import { mkdirSync } from "node:fs";
import sharp from "sharp";
import {
  defaultGeneratorConfig,
  ETA_EDGES,
  EventStats,
  generate,
  N_ETA,
  N_PHI,
  type SampleName,
} from "../src/data/index.js";

const config = defaultGeneratorConfig();
const N = 20_000;
const SIGNALS: SampleName[] = ["background", "dijetResonance", "suep", "fourJet", "monojet", "llp"];
const COLOURS = ["#222222", "#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e"];

const svg: string[] = [];
const text = (x: number, y: number, s: string, extra = "") =>
  svg.push(`<text x="${x}" y="${y}" font-family="sans-serif" font-size="13" ${extra}>${s}</text>`);

// Left: background occupancy map, phi down, eta across.
const bg = new EventStats();
bg.add(generate(config, ["background"], N, 1));
const occ = bg.occupancyMap();
const cell = 22;
const x0 = 60;
const y0 = 50;
text(x0 - 40, 20, "Background: fraction of events with each region non-zero");
text(x0 - 40, 38, `(nPV ~ Poisson(${config.pileup.meanPileup}), ${N} events)`);
const viridis = (t: number) => {
  const stops = [
    [68, 1, 84],
    [59, 82, 139],
    [33, 145, 140],
    [94, 201, 98],
    [253, 231, 37],
  ];
  const f = Math.min(0.9999, Math.max(0, t)) * (stops.length - 1);
  const i = Math.floor(f);
  const c = stops[i].map((v, k) => Math.round(v + (f - i) * (stops[i + 1][k] - v)));
  return `rgb(${c.join(",")})`;
};
for (let p = 0; p < N_PHI; p++) {
  for (let e = 0; e < N_ETA; e++) {
    svg.push(
      `<rect x="${x0 + e * cell}" y="${y0 + p * cell}" width="${cell}" height="${cell}" fill="${viridis(occ[p][e])}"/>`,
    );
  }
  if (p % 3 === 0) text(x0 - 30, y0 + p * cell + 15, `${p}`);
}
for (let e = 0; e <= N_ETA; e += 7) text(x0 + e * cell - 8, y0 + N_PHI * cell + 18, ETA_EDGES[e].toFixed(1));
text(x0 + 90, y0 + N_PHI * cell + 38, "eta (region edges)");
text(15, y0 + 200, "phi region", `transform="rotate(-90 15 ${y0 + 200})"`);
for (let k = 0; k <= 10; k++) {
  svg.push(
    `<rect x="${x0 + N_ETA * cell + 20}" y="${y0 + (10 - k) * 30}" width="16" height="30" fill="${viridis(k / 10)}"/>`,
  );
  if (k % 2 === 0) text(x0 + N_ETA * cell + 42, y0 + (10 - k) * 30 + 6, (k / 10).toFixed(1));
}

// Right: ET-sum spectra, normalised, log scale.
const px0 = 480;
const py0 = 50;
const w = 460;
const h = 360;
const bins = 48;
const maxGeV = 1200;
text(px0, 20, "ET sum per event (GeV): fraction of events per 25 GeV");
text(px0, 38, `background and each signal, ${N} events each, log scale`);
svg.push(`<rect x="${px0}" y="${py0}" width="${w}" height="${h}" fill="none" stroke="#888"/>`);
const logMin = -5;
const yOf = (f: number) => py0 + h * (Math.log10(Math.max(f, 10 ** logMin)) / logMin);
SIGNALS.forEach((s, k) => {
  const d = generate(config, [s], N, 1);
  const hist = new Float64Array(bins);
  for (let i = 0; i < d.count; i++) {
    const sum = d.event(i).reduce((a, v) => a + v, 0) / 2;
    hist[Math.min(bins - 1, Math.floor((sum / maxGeV) * bins))]++;
  }
  const pts = [...hist].map((c, b) => `${px0 + ((b + 0.5) * w) / bins},${yOf(c / d.count)}`);
  svg.push(`<polyline points="${pts.join(" ")}" fill="none" stroke="${COLOURS[k]}" stroke-width="2"/>`);
  svg.push(
    `<rect x="${px0 + w - 150}" y="${py0 + 12 + k * 20}" width="14" height="4" fill="${COLOURS[k]}"/>`,
  );
  text(px0 + w - 130, py0 + 19 + k * 20, s);
});
for (let g = 0; g <= maxGeV; g += 200) text(px0 + (g / maxGeV) * w - 10, py0 + h + 18, `${g}`);
for (let p = 0; p >= logMin; p--) text(px0 - 40, yOf(10 ** p) + 5, `1e${p}`);

const width = 980;
const height = 510;
const doc = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><rect width="100%" height="100%" fill="white"/>${svg.join("")}</svg>`;
mkdirSync("docs", { recursive: true });
await sharp(Buffer.from(doc)).png().toFile("docs/data-distributions.png");
console.log("docs/data-distributions.png");
