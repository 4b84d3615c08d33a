/**
 * The scripted scenarios of the web demo, shared by the page (its menu) and the server (what the simulator
 * does). Browser-safe: no Node imports.
 */
export const DEMO_SCENARIOS = {
  normal: 'Claude answers',
  fallback: 'Claude is overloaded (HTTP 529): GPT answers instead, before any token',
  restart: 'Claude fails mid-answer: the answer is reset and GPT restarts it',
  slow: 'A long, slow answer (try Stop)',
} as const;

/** A scenario's name. */
export type DemoScenario = keyof typeof DEMO_SCENARIOS;

/** True for a known scenario name. */
export function isDemoScenario(value: unknown): value is DemoScenario {
  return typeof value === 'string' && Object.hasOwn(DEMO_SCENARIOS, value);
}

/** The body of `POST /api/generate`. */
export interface GenerateBody {
  readonly prompt: string;
  readonly scenario?: DemoScenario;
}
