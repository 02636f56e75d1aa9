/**
 * The base of every error a user can fix (bad file, config, option or environment). The CLI
 * prints these as one line, `distill: <message>`; any other error is a bug and keeps its stack.
 */
export class UserError extends Error {}
