import {
  catchError,
  defaultIfEmpty,
  defer,
  EmptyError,
  first,
  from,
  map,
  of,
  take,
  throwError,
  timeout,
} from 'rxjs';
import type { Observable, ObservableInput, SchedulerLike } from 'rxjs';
import { LLMError, toLLMError } from '../core/errors.js';
import { isContentEvent } from '../core/events.js';
import type { LanguageModel } from '../core/model.js';
import type { ChatRequest } from '../core/request.js';
import type { HealthOutcome } from './healthState.js';

/**
 * A custom active probe: anything that can tell whether `model` answers (a cheap models-list call, a
 * vendor status page). Its first value, or its completion, is a success; an error or a throw a failure.
 */
export type HealthProbe = (model: LanguageModel) => ObservableInput<unknown>;

/** What {@link runProbe} needs. */
export interface ProbeOptions {
  readonly probe: HealthProbe | undefined;
  readonly request: ChatRequest | undefined;
  readonly timeoutMs: number;
  readonly scheduler: SchedulerLike;
}

/** The default probe: as small a request as a vendor accepts. */
export const PROBE_REQUEST: ChatRequest = { messages: [{ role: 'user', content: 'ping' }], maxTokens: 1 };

/**
 * Probes `model` once: emits one outcome and completes, never errors. The default probe streams a tiny
 * request and succeeds at its first token or finish (then cancels it, so the probe costs a few tokens).
 */
export function runProbe(model: LanguageModel, options: ProbeOptions): Observable<HealthOutcome> {
  const { scheduler } = options;
  return defer(() => {
    const started = scheduler.now();
    const answer$: Observable<unknown> = options.probe
      ? from(options.probe(model)).pipe(take(1), defaultIfEmpty(undefined))
      : model
          .stream(options.request ?? PROBE_REQUEST)
          .pipe(first((event) => isContentEvent(event) || event.type === 'finish'));
    return answer$.pipe(
      timeout({
        first: options.timeoutMs,
        scheduler,
        with: () =>
          throwError(
            () =>
              new LLMError('timeout', `Health probe of ${model.provider}/${model.model} timed out`, {
                provider: model.provider,
                model: model.model,
              }),
          ),
      }),
      map((): HealthOutcome => ({ ok: true, latencyMs: scheduler.now() - started })),
    );
  }).pipe(catchError((error: unknown) => of<HealthOutcome>({ ok: false, error: probeError(error, model) })));
}

function probeError(error: unknown, model: LanguageModel): LLMError {
  if (error instanceof EmptyError) {
    return new LLMError('incomplete', `Health probe of ${model.provider}/${model.model} got no answer`, {
      provider: model.provider,
      model: model.model,
    });
  }
  return toLLMError(error, model.provider, model.model);
}
