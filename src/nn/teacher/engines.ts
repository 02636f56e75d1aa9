/** The engines that can score with a teacher (kept apart so the CLI can list them without loading either). */
export const SCORE_ENGINES = ["ort", "tfjs"] as const;
export type ScoreEngine = (typeof SCORE_ENGINES)[number];
