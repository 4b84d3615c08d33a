/**
 * Secret redaction. Every adapter registers the keys it is given; every error message and cause passes
 * through {@link redactSecrets} before it is stored, so no key reaches a message, a log or an event.
 */

const secrets = new Set<string>();

/** Keys shorter than this are not registered: redacting them would mangle ordinary text. */
const MIN_SECRET_LENGTH = 8;

/**
 * Remembers a secret (an API key, a token) so it is redacted wherever it would appear: error messages,
 * causes, logs, metrics labels. Keys shorter than 8 characters are ignored (redacting them would mangle
 * ordinary text).
 *
 * ## Example
 * ```ts
 * registerSecret(process.env.MY_GATEWAY_KEY);
 * ```
 *
 * @param secret The secret; `undefined` is ignored.
 */
export function registerSecret(secret: string | undefined): void {
  if (secret !== undefined && secret.length >= MIN_SECRET_LENGTH) secrets.add(secret);
}

// Shapes of credentials worth hiding even when nobody registered them.
const PATTERNS: readonly RegExp[] = [
  /\bsk-[A-Za-z0-9_-]{8,}/g, // OpenAI / Anthropic style keys
  /\bAIza[0-9A-Za-z_-]{20,}/g, // Google API keys
  /(Bearer\s+)[A-Za-z0-9._~+/=-]{8,}/gi,
  /([?&](?:key|api_key|apikey|access_token)=)[^&\s"']+/gi,
  /((?:x-api-key|x-goog-api-key|api-key|authorization)["']?\s*[:=]\s*["']?)[^\s"',}]+/gi,
];

/**
 * `text` with every registered secret and every credential-shaped string (bearer tokens, `api_key=`
 * query parameters, key headers) replaced by `[REDACTED]`.
 *
 * ## Example
 * ```ts
 * registerSecret('sk-live-1234567890');
 * redactSecrets('key sk-live-1234567890 was rejected'); // 'key [REDACTED] was rejected'
 * ```
 *
 * @param text Any text.
 * @returns The text, redacted.
 */
export function redactSecrets(text: string): string {
  let out = text;
  for (const secret of secrets) if (out.includes(secret)) out = out.split(secret).join('[REDACTED]');
  for (const pattern of PATTERNS) {
    out = out.replace(pattern, (match: string, prefix?: string) =>
      typeof prefix === 'string' && match.startsWith(prefix) ? `${prefix}[REDACTED]` : '[REDACTED]',
    );
  }
  return out;
}
