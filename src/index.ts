/**
 * rxllm: reactive LLM streams for TypeScript. Every provider is a cold RxJS Observable of one event
 * model; every policy (routing, retry, fallback, budget, cache, …) is a function from model to model.
 *
 * @packageDocumentation
 */

// Event model
export type {
  Cost,
  DeepPartial,
  ElementEvent,
  FallbackEvent,
  FinishEvent,
  FinishReason,
  ModelRef,
  ObjectEvent,
  ReasoningEvent,
  ResetEvent,
  RouteEvent,
  StartEvent,
  StepEvent,
  TextEvent,
  TokenEvent,
  TokenEventType,
  ToolApprovalEvent,
  ToolCallDeltaEvent,
  ToolCallEvent,
  ToolResultEvent,
  Usage,
  UsageEvent,
} from './core/events.js';
export { assertNever, isContentEvent, ZERO_COST, ZERO_USAGE } from './core/events.js';

// Requests
export type {
  AssistantMessage,
  AssistantToolCall,
  Capability,
  ChatRequest,
  ContentPart,
  ImagePart,
  JsonSchema,
  Message,
  RoutingHints,
  SystemMessage,
  TextPart,
  ToolChoice,
  ToolDefinition,
  ToolMessage,
  UserMessage,
} from './core/request.js';
export { contentText } from './core/request.js';
export { checkRequest } from './core/validate.js';

// Errors
export type { LLMErrorInit, LLMErrorKind, SerializedLLMError } from './core/errors.js';
export { isRetryableKind, LLMError, toLLMError } from './core/errors.js';
export type { HeaderSource } from './core/classify.js';
export { parseRetryAfter } from './core/classify.js';
export { redactSecrets, registerSecret } from './core/redact.js';

// Models and composition
export type { LanguageModel, ModelDefinition, ModelPolicy, ModelPool, ModelProfile } from './core/model.js';
export { defineModel } from './core/model.js';

// Catalog
export type { Catalog, ModelSpec, Pricing } from './core/catalog.js';
export {
  CATALOG_PRICES_AS_OF,
  costOf,
  createCatalog,
  DEFAULT_MODELS,
  defaultCatalog,
} from './core/catalog.js';

// Providers
export type { ProviderOptions, Transport } from './providers/shared/options.js';
export type { OpenAIClient, OpenAICompatibleOptions, OpenAIOptions } from './providers/openai/index.js';
export { openai, OPENAI_BASE_URL, openaiCompatible } from './providers/openai/index.js';
export type { AnthropicCallOptions, AnthropicClient, AnthropicOptions } from './providers/anthropic/index.js';
export { anthropic, ANTHROPIC_API_KEY_ENV, ANTHROPIC_BASE_URL } from './providers/anthropic/index.js';
export type { GeminiSafetySetting } from './providers/gemini/request.js';
export type {
  GeminiClient,
  GeminiOptions,
  GeminiSdkModel,
  GeminiSdkRequestOptions,
} from './providers/gemini/index.js';
export { gemini, GEMINI_API_KEY_ENV, GEMINI_BASE_URL } from './providers/gemini/index.js';
export type { OllamaChatClient, OllamaOptions } from './providers/ollama/index.js';
export type { OllamaThink } from './providers/ollama/chunks.js';
export { normalizeOllamaHost, ollama, OLLAMA_DEFAULT_HOST } from './providers/ollama/index.js';
export type {
  CustomModelOptions,
  CustomSource,
  CustomSourceFunction,
  SseMapResult,
  SseSource,
  SseSourceConfig,
} from './providers/custom.js';
export { customModel, sseSource } from './providers/custom.js';

// Operators: resilience
export type {
  Backoff,
  BackoffFactory,
  BackoffOptions,
  ExponentialBackoffOptions,
  FixedBackoffOptions,
  Jitter,
  LinearBackoffOptions,
} from './operators/backoff.js';
export {
  decorrelatedJitter,
  equalJitter,
  exponentialBackoff,
  fixedBackoff,
  fullJitter,
  linearBackoff,
  noJitter,
  retryDelay,
} from './operators/backoff.js';
export type { RetryOptions } from './operators/retryEvents.js';
export { retryEvents } from './operators/retryEvents.js';
export { withRetry } from './operators/withRetry.js';
export type { TimeoutOptions, TimeoutPhase } from './operators/timeoutEvents.js';
export { StreamTimeoutError, timeoutEvents } from './operators/timeoutEvents.js';
export { withTimeout } from './operators/withTimeout.js';
export type {
  CircuitBucket,
  CircuitState,
  CircuitStats,
  ClosedCircuit,
  HalfOpenCircuit,
  OpenCircuit,
} from './operators/circuitMachine.js';
export type {
  CircuitBreaker,
  CircuitBreakerConfig,
  CircuitTransition,
} from './operators/createCircuitBreaker.js';
export { countsAgainstProvider, createCircuitBreaker } from './operators/createCircuitBreaker.js';
export { withCircuitBreaker } from './operators/withCircuitBreaker.js';
export type { CandidateSource, FallbackOptions, MidStreamPolicy } from './operators/withFallback.js';
export { FALLBACK_KINDS, shouldFallbackByDefault, withFallback } from './operators/withFallback.js';
export type { HedgeOptions } from './operators/hedge.js';
export { hedge } from './operators/hedge.js';

// Operators: rate limiting
export { rateLimit } from './operators/rateLimit.js';
export type {
  RateLimitConfig,
  RateLimitCost,
  RateLimiter,
  RateLimiterState,
  RateLimitKey,
  RateLimitLaneState,
  RatePermit,
} from './operators/rateLimiter.js';
export { createRateLimiter } from './operators/rateLimiter.js';
export type { RoughTokenEstimateOptions } from './operators/rateLimitEstimate.js';
export { roughTokenEstimate } from './operators/rateLimitEstimate.js';

// Operators: health
export type {
  HealthMonitor,
  HealthMonitorConfig,
  HealthPredicate,
  HealthSnapshot,
} from './operators/health.js';
export { createHealthMonitor, withHealth } from './operators/health.js';
export type { HealthOutcome, HealthStatus, ModelHealth, ProbeResult } from './operators/healthState.js';
export type { HealthProbe } from './operators/healthProbe.js';

// Routing
export type { AffordabilityCheck, RoutedModel, RoutePlan, Router, RouterOptions } from './routing/route.js';
export { createRouter, route } from './routing/route.js';
export type {
  RouteCandidate,
  RouteDecision,
  RouteEstimate,
  RouteRejection,
  RoutingStrategy,
  StrategyContext,
} from './routing/types.js';
export type {
  BalancedOptions,
  BalancedWeights,
  PerformanceOptions,
  StrategyName,
  WeightedRandomOptions,
} from './routing/strategies/index.js';
export {
  balancedStrategy,
  capabilityStrategy,
  costStrategy,
  leastBusyStrategy,
  performanceStrategy,
  priorityStrategy,
  qualityStrategy,
  roundRobinStrategy,
  weightedRandomStrategy,
} from './routing/strategies/index.js';
export type { TokenCounter, TokenEstimator, TokenEstimatorOptions } from './routing/estimate.js';
export { createEstimator, heuristicTokens, loadGptTokenizer } from './routing/estimate.js';
export type { PriceLookup, SpecLookup, SpecOptions } from './routing/specs.js';
export { priceLookup, specLookup } from './routing/specs.js';
export type { CallStats, ModelStats, ModelStatsOptions, ModelStatsSnapshot } from './routing/stats.js';
export { createModelStats } from './routing/stats.js';
export type { ComplexityFloors } from './routing/constraints.js';
export { DEFAULT_COMPLEXITY_FLOORS } from './routing/constraints.js';

// Budgets and the ledger
export type {
  Budget,
  BudgetAlert,
  BudgetConfig,
  BudgetEstimate,
  BudgetLimits,
  BudgetLineStatus,
  BudgetSettlement,
} from './operators/budget.js';
export { budget, createBudget } from './operators/budget.js';
export type { CalendarWindow, Period, Weekday } from './budget/windows.js';
export { calendarWindow } from './budget/windows.js';
export type {
  Ledger,
  LedgerEntry,
  LedgerGroup,
  LedgerOptions,
  LedgerOutcome,
  LedgerRange,
  LedgerRecord,
  MonthProjection,
  SuccessRate,
} from './ledger/ledger.js';
export { createLedger } from './ledger/ledger.js';
export { withLedger } from './ledger/withLedger.js';

// Operators: cache
export type { CacheOptions, CacheStats, ResponseCache } from './operators/cache.js';
export { cache, createCache } from './operators/cache.js';
export type { CacheCodec, Deflater } from './cache/codec.js';
export { compressingCodec } from './cache/codec.js';
export type { RequestKey, RequestKeyOptions } from './cache/key.js';
export { requestKey } from './cache/key.js';

// Operators: fusion
export type {
  FuseOptions,
  FusedModel,
  FusionEvent,
  FusionMetrics,
  FusionResult,
  MemberAnswer,
  MemberStatus,
} from './operators/fuse.js';
export { fuse, fusion } from './operators/fuse.js';
export type { EmbedFn, SimilarityFn, SimilarityMeasure } from './fusion/similarity.js';
export {
  cosineSimilarity,
  editSimilarity,
  embeddingSimilarity,
  jaccardSimilarity,
  normalizeAnswer,
} from './fusion/similarity.js';
export type { Ballot, Decision, FusionStrategy, StrategyInput } from './fusion/strategies.js';
export { majorityVote, weightedConsensus } from './fusion/strategies.js';

// Structured output and tools
export type {
  InferOutput,
  SchemaIssue,
  StandardResult,
  StandardSchema,
} from './structured/standardSchema.js';
export { SchemaMismatchError } from './structured/SchemaMismatchError.js';
export type { ObjectStreamEvent, StreamObjectOptions } from './structured/streamObject.js';
export { streamObject } from './structured/streamObject.js';
export type { ObjectRequestOptions } from './structured/objectRequest.js';
export { objectRequest } from './structured/objectRequest.js';
export type { Tool, ToolContext, ToolOutput } from './structured/tool.js';
export { tool } from './structured/tool.js';
export type { LoopStep, RunToolsOptions } from './structured/runTools.js';
export { runTools } from './structured/runTools.js';
export { ToolExecutionError } from './structured/ToolExecutionError.js';

// Observability
export type { CallMetrics, CallOutcome } from './observability/metrics.js';
export type {
  HistogramSnapshot,
  Metrics,
  MetricsOptions,
  MetricsSnapshot,
  SeriesSnapshot,
} from './observability/metrics.js';
export { createMetrics, DURATION_BUCKETS_MS, withMetrics } from './observability/metrics.js';
export type { HistogramFamily, Labels, MetricFamily, ScalarFamily } from './observability/prometheus.js';
export { metricsFamilies, PROMETHEUS_CONTENT_TYPE, renderPrometheus } from './observability/prometheus.js';
export type {
  Logger,
  LoggerOptions,
  LoggingOptions,
  LogHook,
  LogLevel,
  LogRecord,
  LogValue,
} from './observability/logger.js';
export { createLogger, sanitizeFields, withLogging } from './observability/logger.js';

// State
export type {
  MaybePromise,
  IncrementOptions,
  IncrementResult,
  StateStore,
  StoreWriteOptions,
  TokenTake,
  TokenTakeResult,
} from './state/store.js';
export type { MemoryStore, MemoryStoreOptions } from './state/memoryStore.js';
export { memoryStore } from './state/memoryStore.js';
export { fromMaybePromise } from './state/maybePromise.js';
export type {
  RedisClientLike,
  RedisFaultMode,
  RedisStateStore,
  RedisStoreEvent,
  RedisStoreOperation,
  RedisStoreOptions,
} from './state/redisStore.js';
export type { RedisTargetOptions } from './state/redis/faults.js';
export { redisStore } from './state/redisStore.js';

// Streams to browsers: Server-Sent Events both ways
export type { SSEResponseSink, ToSSEOptions } from './streaming/toSSE.js';
export { pipeSSE, SSE_HEADERS, toSSE, toSSEResponse, toSSEStream } from './streaming/toSSE.js';
export type { FromSSEOptions } from './streaming/fromSSE.js';
export { fromSSE } from './streaming/fromSSE.js';

// Helpers
export type { Completion, Timings } from './helpers/collect.js';
export { collect } from './helpers/collect.js';
export { textDeltas } from './helpers/textDeltas.js';
export {
  fromAsyncIterable,
  fromReadableStream,
  toAsyncIterable,
  toReadableStream,
} from './helpers/interop.js';
