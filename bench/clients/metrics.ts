/**
 * The pipeline's metrics stage. rxllm has no metrics operator yet (see the report in bench/README.md):
 * until it does, this stage is the identity and the pipeline's only metrics are the router's per-model
 * stats (in-flight counts, time to first token, tokens per second), which `route()` always records.
 */
import { identity } from 'rxjs';
import type { ModelPolicy } from '../../src/core/model.js';

export function metricsPolicy(): ModelPolicy {
  return identity;
}

/** What the measured pipeline contains, for the report. */
export const PIPELINE_PARTS =
  'cache(miss) ∘ [metrics: none yet] ∘ budget ∘ withFallback ∘ route(priority, budget-aware, stats) ∘ [withRetry ∘ withCircuitBreaker ∘ rateLimit ∘ provider(direct)] × 2';
