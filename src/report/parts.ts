/** Resources of an FPGA part, from the vendor's product tables. */
export interface PartResources {
  readonly luts: number;
  readonly ffs: number;
  /** CARRY4 (7-series: one per slice) or CARRY8 (UltraScale+: one per CLB). */
  readonly carry: number;
  readonly dsps: number;
}

/** Parts of configs/targets: Virtex-7 690T (108,300 slices) and Virtex UltraScale+ VU9P (147,780 CLBs). */
export const KNOWN_PARTS: Readonly<Record<string, PartResources>> = {
  xc7vx690t: { luts: 433_200, ffs: 866_400, carry: 108_300, dsps: 3_600 },
  xcvu9p: { luts: 1_182_240, ffs: 2_364_480, carry: 147_780, dsps: 6_840 },
};

/** Resources of a full part name such as xc7vx690tffg1927-2 (device prefix match). */
export function partResources(part: string): PartResources | undefined {
  const p = part.toLowerCase();
  const key = Object.keys(KNOWN_PARTS).find((k) => p.startsWith(k));
  return key ? KNOWN_PARTS[key] : undefined;
}
