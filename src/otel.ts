/**
 * rxllm/otel: OpenTelemetry spans and metrics for pipelines, through `@opentelemetry/api` only (bring your
 * own SDK), with the GenAI semantic-convention attribute names.
 *
 * @packageDocumentation
 */

export type { TelemetryOptions } from './observability/otel.js';
export { GEN_AI, withTelemetry } from './observability/otel.js';
