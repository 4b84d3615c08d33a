import { z } from 'zod';

/**
 * The schema of an rxllm configuration file (zod 4). Every object is strict, so a misspelt key is an
 * error rather than a silently ignored setting. A number may also be written as a numeric string, so
 * `maxAttempts: ${RETRIES}` works after interpolation. Sections that can be switched off accept `false`.
 * Defaults are applied by `buildPipeline` and documented on each field.
 */

/** A number, or a string holding one (the result of `${VAR}` interpolation). */
const num = () =>
  z.preprocess(
    (v) => (typeof v === 'string' && /^\s*-?\d+(\.\d+)?([eE][-+]?\d+)?\s*$/.test(v) ? Number(v) : v),
    z.number(),
  );
const nonNegative = () => num().pipe(z.number().nonnegative());
const positive = () => num().pipe(z.number().positive());
const count = (min = 0) => num().pipe(z.number().int().min(min));
const fraction = () => num().pipe(z.number().min(0).max(1));
const flag = () => z.preprocess((v) => (v === 'true' ? true : v === 'false' ? false : v), z.boolean());

/** `false` → `{ enabled: false }`, `true` → `{}`: a section that can be switched off. */
const section = <T extends z.ZodRawShape>(shape: T) =>
  z.preprocess(
    (v) => (v === false || v === 'false' ? { enabled: false } : v === true || v === 'true' ? {} : v),
    z.strictObject({
      /** `false` switches the section off; a section that is present is on by default. */
      enabled: flag().optional(),
      ...shape,
    }),
  );

/** Where a key comes from: the key itself (usually `${ENV}`), `{ env: NAME }`, or `{ credential: NAME }`. */
export const credentialSourceSchema = z.union(
  [
    z.string().min(1, 'is empty'),
    z.strictObject({
      /** The environment variable that holds the key. */
      env: z.string().min(1),
    }),
    z.strictObject({
      /** The key's name in the credential file of the `credentials` section. */
      credential: z.string().min(1),
    }),
  ],
  { error: 'expected a key string, { env: NAME } or { credential: NAME }' },
);

/** First-token, idle and total limits in ms (each off unless set). */
export const timeoutSchema = z.strictObject({
  /** Longest wait for the first content event, in ms. */
  firstTokenMs: positive().optional(),
  /** Longest silence between two events once the answer streams, in ms. */
  idleMs: positive().optional(),
  /** Longest whole call, in ms. */
  totalMs: positive().optional(),
});

/** Token-bucket limits (see `RateLimitConfig`). */
export const rateLimitSchema = section({
  /** Requests allowed per minute (a token bucket refilled continuously). */
  requestsPerMinute: positive().optional(),
  /** Estimated prompt and answer tokens allowed per minute. */
  tokensPerMinute: positive().optional(),
  /** Bucket sizes, when bursts may exceed the per-minute rate's smooth share. */
  burst: z
    .strictObject({
      /** Requests the bucket holds when full. */
      requests: positive().optional(),
      /** Tokens the bucket holds when full. */
      tokens: positive().optional(),
    })
    .optional(),
  /** Calls allowed to wait; beyond it `queue_full`. */
  maxQueue: count().optional(),
  /** Longest time a call waits in the queue, in ms; a call that would wait longer fails with `rate_limit`. */
  maxWaitMs: nonNegative().optional(),
  /** Buckets per provider (default) or per provider and model. */
  key: z.enum(['provider', 'model']).optional(),
});

/** The vendors a provider entry can name. */
export const PROVIDER_TYPES = ['openai', 'anthropic', 'gemini', 'ollama', 'openai-compatible'] as const;

/** One provider: a vendor, a model, its key and where it sits in routing. */
export const providerSchema = z.strictObject({
  /** The provider's name in events, metrics, budgets and routing. Default: `type` (must be unique). */
  name: z
    .string()
    .regex(/^[A-Za-z0-9._-]+$/, 'may hold letters, digits, ".", "_" and "-" only')
    .optional(),
  /** The vendor, which picks the adapter and its wire format. */
  type: z.enum(PROVIDER_TYPES),
  /** The vendor's model id, e.g. `gpt-4o-mini`. */
  model: z.string().min(1, 'is empty'),
  /** Default: the vendor's environment variable (`OPENAI_API_KEY`, `ANTHROPIC_API_KEY`, `GEMINI_API_KEY`). */
  apiKey: credentialSourceSchema.optional(),
  /** Where the vendor's API is (a proxy, a local server). Default: the vendor's; required for `openai-compatible`. */
  baseURL: z.url({ error: 'must be an absolute URL' }).optional(),
  /** Extra HTTP headers sent with every call (values may use `${ENV}`). */
  headers: z.record(z.string(), z.string()).optional(),
  /** `direct` (fetch and rxllm's own parser, the default) or `sdk` (the vendor's official SDK). */
  transport: z.enum(['direct', 'sdk']).optional(),
  /** Order for the `priority` strategy and for fallback: lower first. Default: the entry's position. */
  priority: num().pipe(z.number().int()).optional(),
  /** Share for the `weighted-random` strategy. Default 1; 0 only as a last resort. */
  weight: nonNegative().optional(),
  /** USD per million tokens; default: the catalog's price for the vendor and model. */
  pricing: z
    .strictObject({
      /** USD per million prompt tokens. */
      input: nonNegative(),
      /** USD per million answer tokens. */
      output: nonNegative(),
      /** USD per million prompt tokens read from the vendor's prompt cache. Default: `input`. */
      cachedInput: nonNegative().optional(),
    })
    .optional(),
  /** Quality score 0..1 for routing; default: the catalog's. */
  quality: fraction().optional(),
  /** This provider's time limits (they win over the top-level `timeout`). */
  timeout: timeoutSchema.optional(),
  /** This provider's own rate limit, on top of the shared one. */
  rateLimit: rateLimitSchema.optional(),
  /** Leave the entry out of the pool without deleting it. Default true. */
  enabled: flag().optional(),
});

/** The built-in routing strategies. */
export const STRATEGIES = [
  'priority',
  'cost',
  'quality',
  'performance',
  'balanced',
  'weighted-random',
  'round-robin',
  'least-busy',
  'capability',
] as const;

const limitsSchema = z.strictObject({
  /** USD per calendar day (in the budget's `timeZone`). */
  day: nonNegative().optional(),
  /** USD per calendar week. */
  week: nonNegative().optional(),
  /** USD per calendar month. */
  month: nonNegative().optional(),
});

/**
 * A virtual key of the gateway: a caller with a name, stored as the SHA-256 of the key (`rxllm keys hash`),
 * with its own models, budget and rate limit on top of the pipeline's.
 */
const serverKeySchema = z.strictObject({
  /** The caller's name in metrics and logs. */
  name: z.string().regex(/^[A-Za-z0-9._-]+$/, 'may hold letters, digits, ".", "_" and "-" only'),
  /** The SHA-256 of the key as `sha256:<64 hex digits>` (from `rxllm keys hash`); the key itself is never stored. */
  hash: z.string().regex(/^sha256:[0-9a-f]{64}$/, 'expected sha256:<64 hex digits> (see rxllm keys hash)'),
  /** Model names the key may use (`rxllm`, provider names, model ids). Default: all. */
  models: z.array(z.string().min(1)).min(1).optional(),
  /** The key's own spending limits in USD. Default: none (the pipeline's still apply). */
  budget: z
    .strictObject({
      /** The most one call of this key may cost, in USD. */
      perRequest: nonNegative().optional(),
      /** The key's spend per calendar day, week and month, in USD. */
      limits: limitsSchema.optional(),
      /** When a call cannot afford its estimate: `cap` (default) its answer to what is left, or `reject` it. */
      onShortfall: z.enum(['cap', 'reject']).optional(),
    })
    .optional(),
  /** The key's own request and token rates (one bucket per key). Default: none. */
  rateLimit: z
    .strictObject({
      /** Requests the key may make per minute. */
      requestsPerMinute: positive().optional(),
      /** Estimated prompt and answer tokens the key may use per minute. */
      tokensPerMinute: positive().optional(),
      /** Calls of the key allowed to wait at once; beyond it `queue_full`. Default 100. */
      maxQueue: count().optional(),
      /** Longest time a call waits in the queue, in ms; beyond it `rate_limit`. Default: no limit. */
      maxWaitMs: nonNegative().optional(),
    })
    .optional(),
});

// The schema itself; the exported one is typed by what it reads and writes, the types documented below.
const fullSchema = z
  .strictObject({
    /** Schema version. Default 1. */
    version: z.literal(1).optional(),
    /** The models of the pool, at least one. */
    providers: z.array(providerSchema).min(1, 'needs at least one provider'),
    /** How the pool is ranked per request, and what happens on failure. */
    routing: z
      .strictObject({
        /** Default `priority` (by `priority`, then file order). */
        strategy: z.enum(STRATEGIES).optional(),
        /** Walk the ranked providers on failure. Default on, `onMidStream: error`. */
        fallback: section({
          /** What a failure after content does: fail (`error`), `restart` with a `reset`, or `continue`. */
          onMidStream: z.enum(['error', 'restart', 'continue']).optional(),
        }).optional(),
        /** Race the next provider after `delayMs` without an answer (instead of waiting for a failure). */
        hedge: z
          .strictObject({
            /** How long the first provider has to produce a token before the next one starts, in ms. */
            delayMs: positive(),
            /** Most providers racing at once (at least 2). */
            maxAttempts: count(2).optional(),
          })
          .optional(),
        /** Seed of weighted-random routing (reproducible runs). */
        seed: count().optional(),
      })
      .optional(),
    /** Per provider, before the first token only. Default on, 3 attempts, exponential backoff. */
    retry: section({
      /** Attempts in all, the first included (1 means no retry). */
      maxAttempts: count(1).optional(),
      /** The first backoff delay, in ms; it doubles each attempt. */
      initialDelayMs: nonNegative().optional(),
      /** The longest backoff delay, in ms. */
      maxDelayMs: nonNegative().optional(),
      /** How delays are randomized, so clients do not retry in step. */
      jitter: z.enum(['none', 'full', 'equal', 'decorrelated']).optional(),
      /** The longest wait a server's `retry-after` hint may impose, in ms. */
      maxRetryAfterMs: nonNegative().optional(),
    }).optional(),
    /** Per provider and model. Default on: 5 consecutive failures open the circuit for 30 s. */
    circuitBreaker: section({
      /** Consecutive failures that open the circuit. */
      consecutiveFailures: count(1).optional(),
      /** Failure share over `windowMs` that opens the circuit (0..1), once `minimumCalls` were made. */
      failureRate: fraction().optional(),
      /** Calls in the window before `failureRate` counts. */
      minimumCalls: count(1).optional(),
      /** The window `failureRate` is measured over, in ms. */
      windowMs: positive().optional(),
      /** How long the circuit stays open the first time, in ms; it grows on each reopening. */
      openMs: positive().optional(),
      /** The longest open time, in ms. */
      maxOpenMs: positive().optional(),
      /** Trial calls let through while half-open. */
      halfOpenProbes: count(1).optional(),
      /** Successful trial calls that close the circuit. */
      successesToClose: count(1).optional(),
    }).optional(),
    /** Shared by every provider (a provider's own `rateLimit` adds to it). Default off. */
    rateLimit: rateLimitSchema.optional(),
    /** Spending limits in USD. Default: none. */
    budget: section({
      /** The most one call may cost, in USD. */
      perRequest: nonNegative().optional(),
      /** Limits over every provider. */
      limits: limitsSchema.optional(),
      /** Limits of one provider, by provider name. */
      providers: z.record(z.string(), limitsSchema).optional(),
      /** Fractions of a limit that raise an alert. Default `[0.5, 0.8, 0.95]`. */
      thresholds: z.array(num().pipe(z.number().gt(0).max(1))).optional(),
      /** The IANA time zone calendar windows follow, e.g. `Europe/Paris`. Default UTC. */
      timeZone: z.string().optional(),
      /** When a call cannot afford its estimate: `cap` its answer to what is left, or `reject` it. */
      onShortfall: z.enum(['cap', 'reject']).optional(),
    }).optional(),
    /** Response cache for deterministic requests (temperature 0). Default off. */
    cache: section({
      /** How long an answer stays fresh, in ms. */
      ttlMs: positive().optional(),
      /** Most answers kept (least recently used go first). */
      maxEntries: count(1).optional(),
      /** Most bytes kept, encoded. */
      maxBytes: count(1).optional(),
    }).optional(),
    /** Limits for every provider (a provider's own `timeout` wins). */
    timeout: timeoutSchema.optional(),
    /** Passive health from traffic; active probes only with `probe: true` (probes are billed calls). */
    health: section({
      /** Send active probes (small billed calls) on top of watching traffic. */
      probe: flag().optional(),
      /** Time between probes, in ms. */
      intervalMs: positive().optional(),
      /** How long a probe may take, in ms. */
      probeTimeoutMs: positive().optional(),
      /** Failed probes in a row that mark a model unhealthy. */
      unhealthyAfter: count(1).optional(),
      /** Successful probes in a row that mark it healthy again. */
      recoverAfter: count(1).optional(),
      /** Error share of recent traffic (0..1) that marks a model unhealthy. */
      errorRateThreshold: fraction().optional(),
    }).optional(),
    /** An encrypted credential file for `{ credential: NAME }` keys. */
    credentials: z
      .strictObject({
        /** The credential file's path, relative to the configuration file's folder (or `baseDir`). */
        file: z.string().min(1),
        /** Environment variable holding the password. Default `RXLLM_CREDENTIALS_PASSWORD`. */
        passwordEnv: z.string().min(1).optional(),
      })
      .optional(),
    /** Telemetry beyond the built-in metrics. */
    observability: z
      .strictObject({
        /** OpenTelemetry spans and metrics through `@opentelemetry/api`. Default off. */
        otel: flag().optional(),
        /** Also emit the deprecated `gen_ai.system` attribute. Default false. */
        legacySystemAttribute: flag().optional(),
      })
      .optional(),
    /** Settings of the example gateway (ignored by `buildPipeline`). */
    server: z
      .strictObject({
        /** The interface to listen on. */
        host: z.string().optional(),
        /** The TCP port to listen on. */
        port: count().pipe(z.number().max(65535)).optional(),
        /** The largest request body accepted, in bytes. */
        maxBodyBytes: count(1).optional(),
        /** Callers and their keys. With none, every request is served, and only on loopback. */
        keys: z.array(serverKeySchema).optional(),
      })
      .optional(),
  })
  .superRefine((config, ctx) => {
    const names = new Map<string, number>();
    config.providers.forEach((p, i) => {
      const name = p.name ?? p.type;
      const first = names.get(name);
      if (first !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['providers', i, 'name'],
          message: `duplicate provider name "${name}" (also providers[${first}]); give each entry a unique name`,
        });
      } else names.set(name, i);
      if (p.type === 'openai-compatible' && p.baseURL === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['providers', i, 'baseURL'],
          message: 'required for openai-compatible',
        });
      }
      if (typeof p.apiKey === 'object' && 'credential' in p.apiKey && !config.credentials) {
        ctx.addIssue({
          code: 'custom',
          path: ['providers', i, 'apiKey'],
          message: `{ credential: ${p.apiKey.credential} } needs a "credentials" section naming the file`,
        });
      }
    });
    for (const key of Object.keys(config.budget?.providers ?? {})) {
      if (!names.has(key)) {
        ctx.addIssue({
          code: 'custom',
          path: ['budget', 'providers', key],
          message: `no provider named "${key}" (known: ${[...names.keys()].join(', ')})`,
        });
      }
    }
    const models = new Set(['rxllm', ...names.keys(), ...config.providers.map((p) => p.model)]);
    const seen = new Map<string, number>();
    config.server?.keys?.forEach((k, i) => {
      for (const [field, value] of [
        ['name', k.name],
        ['hash', k.hash],
      ] as const) {
        const first = seen.get(`${field}:${value}`);
        if (first !== undefined) {
          ctx.addIssue({
            code: 'custom',
            path: ['server', 'keys', i, field],
            message: `the same ${field} as server.keys[${first}]`,
          });
        } else seen.set(`${field}:${value}`, i);
      }
      k.models?.forEach((m, j) => {
        if (!models.has(m)) {
          ctx.addIssue({
            code: 'custom',
            path: ['server', 'keys', i, 'models', j],
            message: `no model "${m}" (known: ${[...models].join(', ')})`,
          });
        }
      });
    });
    if (config.routing?.hedge && config.routing.fallback?.enabled === false) {
      ctx.addIssue({ code: 'custom', path: ['routing', 'hedge'], message: 'hedging needs fallback enabled' });
    }
  });

/**
 * A validated configuration (what {@link configSchema} outputs).
 *
 * @useDeclaredType
 */
export type RxllmConfig = z.output<typeof fullSchema>;
/**
 * A configuration as written (numbers may still be strings, sections may be `false`).
 *
 * @useDeclaredType
 */
export type RxllmConfigInput = z.input<typeof fullSchema>;

/**
 * The whole configuration file: `configSchema.safeParse(value)` validates a parsed document (after
 * `${ENV}` interpolation) into an {@link RxllmConfig}. `parseConfig` and `loadConfig` use it.
 */
export const configSchema: z.ZodType<RxllmConfig, RxllmConfigInput> = fullSchema;
/**
 * One validated virtual key of the gateway (an entry of `server.keys`).
 *
 * @useDeclaredType
 */
export type ServerKeyConfig = z.output<typeof serverKeySchema>;
/** One validated provider entry. */
export type ProviderConfig = RxllmConfig['providers'][number];
/** A validated key source. */
export type CredentialSourceConfig = NonNullable<ProviderConfig['apiKey']>;
