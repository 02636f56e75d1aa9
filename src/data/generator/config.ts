import { readFileSync } from "node:fs";
import { z } from "zod";
import { DataError } from "../errors.js";
import { N_ETA, N_PHI } from "../geometry.js";

const positive = z.number().positive();
const nonNegative = z.number().nonnegative();
const phiIndex = z
  .number()
  .int()
  .min(0)
  .max(N_PHI - 1);
const etaIndex = z
  .number()
  .int()
  .min(0)
  .max(N_ETA - 1);

/**
 * The toy detector's parameters, every one with its unit in its name. The README lists what
 * each one mimics; `configs/generator.json` holds the defaults.
 */
export const generatorConfigSchema = z
  .object({
    pileup: z.strictObject({
      /** Mean number of pileup vertices per crossing; nPV ~ Poisson(meanPileup). */
      meanPileup: nonNegative,
      /** Soft deposits per vertex per unit of eta (over all phi), before the forward gain. */
      depositsPerVertexPerUnitEta: nonNegative,
      /** Deposit density grows by this fraction per unit of |eta| (more material, more ET forward). */
      forwardDensityGainPerUnitEta: nonNegative,
      /** Mean ET of one soft deposit at eta 0 and at |eta| = 3 (exponential; linear in between). */
      depositMeanEtGeVCentral: positive,
      depositMeanEtGeVForward: positive,
    }),
    hardScatter: z.strictObject({
      /** Mean number of QCD 2->2 scatters per crossing with a leading jet above jetPtMinGeV. */
      meanDijetsPerEvent: nonNegative,
      jetPtMinGeV: positive,
      jetPtMaxGeV: positive,
      /** Leading-jet spectrum dN/dpT ~ pT^-spectrumIndex. */
      spectrumIndex: z.number().gt(1),
      /** The second jet's pT is the leading pT times a uniform factor in [balanceMin, 1]. */
      balanceMin: z.number().min(0).max(1),
      /** Spread of the second jet's azimuth around back-to-back (radians, Gaussian). */
      acoplanaritySigmaRad: nonNegative,
      /** Jets are produced flat in pseudorapidity over |eta| < jetEtaMax. */
      jetEtaMax: positive,
    }),
    jets: z.strictObject({
      /** Gaussian width of a jet's transverse energy profile, in eta and in phi (radians). */
      profileSigma: positive,
      /** Jet ET resolution sigma/pT = stochastic/sqrt(pT) (+) constant, in quadrature. */
      resolutionStochasticSqrtGeV: nonNegative,
      resolutionConstant: nonNegative,
    }),
    noise: z.strictObject({
      /** Gaussian electronic noise per region (GeV); negative sums read as 0. */
      sigmaGeV: nonNegative,
    }),
    signals: z.strictObject({
      dijetResonance: z.strictObject({
        massGeV: positive,
        widthGeV: nonNegative,
        /** Half the rapidity gap between the jets, uniform in +-this (|y*|). */
        yStarMax: nonNegative,
        /** Rapidity of the resonance, uniform in +-this. */
        boostRapidityMax: nonNegative,
      }),
      suep: z.strictObject({
        /** Mass of the scalar decaying to many soft particles. */
        massGeV: positive,
        /** Temperature of the massless Boltzmann spectrum (mean particle energy 3T). */
        temperatureGeV: positive,
        boostRapidityMax: nonNegative,
      }),
      fourJet: z.strictObject({
        /** H -> aa -> 4b: parent and intermediate masses; H pT is exponential with this mean. */
        parentMassGeV: positive,
        intermediateMassGeV: positive,
        parentPtMeanGeV: nonNegative,
        boostRapidityMax: nonNegative,
      }),
      monojet: z.strictObject({
        /** One jet recoiling against invisible particles: pT = min + exponential(slope). */
        jetPtMinGeV: positive,
        jetPtSlopeGeV: positive,
        jetEtaMax: positive,
      }),
      llp: z.strictObject({
        /** Number of narrow deposits: 1 + Poisson(meanExtraDeposits). */
        meanExtraDeposits: nonNegative,
        /** Each deposit's ET, uniform between these, all in one region. */
        depositEtMinGeV: positive,
        depositEtMaxGeV: positive,
      }),
    }),
    faults: z.strictObject({
      /** A region stuck at a high reading, on top of background. */
      hotRegion: z.strictObject({ phi: phiIndex, eta: etaIndex, stuckEtGeV: z.number().min(0).max(511.5) }),
      /** A region reading zero. */
      deadRegion: z.strictObject({ phi: phiIndex, eta: etaIndex }),
      /** A whole eta ring (all 18 phi regions) reading zero. */
      deadEtaStrip: z.strictObject({ eta: etaIndex }),
      /** Consecutive phi regions (wrapping) whose energy is multiplied by `scale`. */
      miscalibratedSector: z.strictObject({
        phiFirst: phiIndex,
        phiCount: z.number().int().min(1).max(N_PHI),
        scale: nonNegative,
      }),
    }),
  })
  .strict()
  .refine((c) => c.hardScatter.jetPtMaxGeV > c.hardScatter.jetPtMinGeV, {
    message: "hardScatter.jetPtMaxGeV must exceed jetPtMinGeV",
    path: ["hardScatter", "jetPtMaxGeV"],
  })
  .refine((c) => c.signals.llp.depositEtMaxGeV >= c.signals.llp.depositEtMinGeV, {
    message: "signals.llp.depositEtMaxGeV must be at least depositEtMinGeV",
    path: ["signals", "llp", "depositEtMaxGeV"],
  })
  .refine((c) => c.signals.fourJet.parentMassGeV > 2 * c.signals.fourJet.intermediateMassGeV, {
    message: "signals.fourJet.parentMassGeV must exceed twice intermediateMassGeV",
    path: ["signals", "fourJet", "parentMassGeV"],
  });

export type GeneratorConfig = z.infer<typeof generatorConfigSchema>;

/** Validates a parsed config; the first problem is reported with its JSON path. */
export function parseGeneratorConfig(raw: unknown, file = "(generator config)"): GeneratorConfig {
  const r = generatorConfigSchema.safeParse(raw);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  throw new DataError(
    { file },
    issue.path.length ? `a problem at ${issue.path.join(".")}` : "a problem",
    issue.message,
  );
}

export function readGeneratorConfig(file: string): GeneratorConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw new DataError({ file }, (e as Error).message, "a readable JSON generator config");
  }
  return parseGeneratorConfig(raw, file);
}
