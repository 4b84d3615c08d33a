import type { Capability, ChatRequest } from '../core/request.js';
import type { RouteCandidate } from './types.js';

/** Minimum catalog quality per `hints.complexity`. */
export interface ComplexityFloors {
  /** Least quality for `complexity: 'low'`. */
  readonly low: number;
  /** Least quality for `complexity: 'medium'`. */
  readonly medium: number;
  /** Least quality for `complexity: 'high'`. */
  readonly high: number;
}

/** Default floors: any model for `low`, 0.7 for `medium`, 0.85 for `high`. */
export const DEFAULT_COMPLEXITY_FLOORS: ComplexityFloors = Object.freeze({ low: 0, medium: 0.7, high: 0.85 });

/**
 * The capabilities `request` needs: those its shape implies (tools offered and not disabled, an image
 * part, a JSON response format) plus `hints.requiredCapabilities`.
 */
export function requiredCapabilities(request: ChatRequest): Capability[] {
  const needed = new Set<Capability>(request.hints?.requiredCapabilities ?? []);
  if (request.tools && request.tools.length > 0 && request.toolChoice !== 'none') needed.add('tools');
  if (request.responseFormat) needed.add('json');
  const hasImage = request.messages.some(
    (m) => m.role === 'user' && typeof m.content !== 'string' && m.content.some((p) => p.type === 'image'),
  );
  if (hasImage) needed.add('vision');
  return [...needed];
}

/** What the constraint check needs besides the candidate and request. */
export interface ConstraintOptions {
  readonly now: number;
  readonly complexityFloors: ComplexityFloors;
  readonly staleAfterMs: number;
}

/**
 * Every constraint `candidate` fails for `request`, one short phrase each (empty: it qualifies).
 *
 * Models without a spec pass the capability and context checks (nothing is known against them), fail a
 * `maxCost` (their price is unknown) and have the router's default quality. A model never measured
 * passes `maxLatencyMs`.
 */
export function violations(
  candidate: RouteCandidate,
  request: ChatRequest,
  options: ConstraintOptions,
): string[] {
  const hints = request.hints ?? {};
  const { spec, estimate, stats } = candidate;
  const out: string[] = [];
  if (hints.excludeProviders?.includes(candidate.model.provider)) out.push('provider excluded');
  if (spec) {
    for (const capability of requiredCapabilities(request)) {
      if (!spec.capabilities.includes(capability)) out.push(`no ${capability}`);
    }
    const needed = estimate.inputTokens + (request.maxTokens ?? 0);
    if (needed > spec.contextWindow) out.push(`context ${needed} > ${spec.contextWindow}`);
    if (request.maxTokens !== undefined && request.maxTokens > spec.maxOutputTokens) {
      out.push(`maxTokens ${request.maxTokens} > ${spec.maxOutputTokens}`);
    }
  }
  const floor = Math.max(
    hints.minQuality ?? 0,
    hints.complexity ? options.complexityFloors[hints.complexity] : 0,
  );
  if (candidate.quality < floor) out.push(`quality ${candidate.quality} < ${floor}`);
  if (hints.maxCost !== undefined) {
    if (estimate.cost === undefined) out.push('unknown price');
    else if (estimate.cost > hints.maxCost)
      out.push(`cost $${money(estimate.cost)} > $${money(hints.maxCost)}`);
  }
  if (hints.maxLatencyMs !== undefined && stats.ttftMs !== undefined && stats.lastSampleAt !== undefined) {
    const fresh = options.now - stats.lastSampleAt <= options.staleAfterMs;
    const ttft = Math.max(stats.ttftMs, stats.waitingMs);
    if (fresh && ttft > hints.maxLatencyMs) out.push(`ttft ${Math.round(ttft)}ms > ${hints.maxLatencyMs}ms`);
  }
  return out;
}

/** Dollars with up to 6 significant digits, for reasons and messages. */
export function money(usd: number): string {
  return Number(usd.toPrecision(6)).toString();
}
