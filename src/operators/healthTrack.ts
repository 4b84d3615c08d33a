import { Observable } from 'rxjs';
import type { SchedulerLike } from 'rxjs';
import { LLMError, toLLMError } from '../core/errors.js';
import { assertNever, type ModelRef } from '../core/events.js';
import { defineModel, type LanguageModel } from '../core/model.js';
import type { HealthOutcome } from './healthState.js';

/** What {@link trackHealth} reports to. */
export interface TrackOptions {
  readonly scheduler: SchedulerLike;
  readonly shouldCount: ((error: LLMError) => boolean) | undefined;
  readonly record: (model: ModelRef, outcome: HealthOutcome) => void;
  readonly recordLatency: (model: ModelRef, latencyMs: number) => void;
}

/**
 * `model`, reporting each call's time to first token and outcome. The answering model is the last
 * `start` event's (a pipeline may answer from another model than its label); a `fallback` or `reset`
 * counts as a failure of the model it names, and restarts the time-to-first-token clock.
 */
export function trackHealth(model: LanguageModel, options: TrackOptions): LanguageModel {
  const { scheduler } = options;
  const counts = (error: LLMError): boolean => {
    try {
      return options.shouldCount ? options.shouldCount(error) : error.retryable;
    } catch {
      return true;
    }
  };
  return defineModel({
    provider: model.provider,
    model: model.model,
    profile: model.profile,
    stream: (request) =>
      new Observable((subscriber) => {
        let answering: ModelRef = { provider: model.provider, model: model.model };
        let startedAt = scheduler.now();
        let firstToken = false;
        let finished = false;
        return model.stream(request).subscribe({
          next: (event) => {
            switch (event.type) {
              case 'start':
                answering = { provider: event.provider, model: event.model };
                break;
              case 'fallback':
              case 'reset':
                options.record(event.from, { ok: false, error: event.error });
                startedAt = scheduler.now();
                firstToken = false;
                break;
              case 'finish':
                finished = true;
                options.record(answering, { ok: true });
                break;
              case 'text':
              case 'reasoning':
              case 'tool-call-delta':
              case 'tool-call':
                if (!firstToken) {
                  firstToken = true;
                  options.recordLatency(answering, scheduler.now() - startedAt);
                }
                break;
              case 'object':
              case 'element':
              case 'tool-result':
              case 'tool-approval':
              case 'step':
              case 'usage':
              case 'route':
                break;
              default:
                assertNever(event);
            }
            subscriber.next(event);
          },
          error: (error: unknown) => {
            const failure = toLLMError(error, answering.provider, answering.model);
            if (counts(failure)) options.record(answering, { ok: false, error: failure });
            subscriber.error(error);
          },
          complete: () => {
            if (!finished) {
              const truncated = new LLMError('incomplete', 'The stream ended without a finish', answering);
              if (counts(truncated)) options.record(answering, { ok: false, error: truncated });
            }
            subscriber.complete();
          },
        });
      }),
  });
}
