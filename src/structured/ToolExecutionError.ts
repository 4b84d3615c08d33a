import { LLMError } from '../core/errors.js';

/**
 * A tool failed and `runTools({ onToolError: 'fail' })` ends the loop with it: kind `unknown` (or the
 * tool's own `LLMError` kind), the tool's name and call id, the cause redacted.
 *
 * ## Example
 * ```ts
 * runTools(pipeline, request, { tools: {}, onToolError: 'fail' }).subscribe({
 *   error: (e: unknown) => {
 *     if (e instanceof ToolExecutionError) console.log(e.toolName, e.toolCallId);
 *   },
 * });
 * ```
 */
export class ToolExecutionError extends LLMError {
  /** The name of the tool that failed. */
  readonly toolName: string;
  /** The id of the tool call that failed (the `tool-call` event's `id`). */
  readonly toolCallId: string;

  constructor(toolName: string, toolCallId: string, cause: unknown) {
    const detail = cause instanceof Error ? cause.message : String(cause);
    super(LLMError.isInstance(cause) ? cause.kind : 'unknown', `Tool ${toolName} failed: ${detail}`, {
      retryable: false,
      cause,
    });
    this.toolName = toolName;
    this.toolCallId = toolCallId;
  }
}
