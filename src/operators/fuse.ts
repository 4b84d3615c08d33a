import {
  asyncScheduler,
  BehaviorSubject,
  concatMap,
  from,
  Observable,
  type Observer,
  type SchedulerLike,
  Subscription,
} from 'rxjs';
import { canonicalJson } from '../cache/key.js';
import { LLMError, toLLMError } from '../core/errors.js';
import { addCost, addUsage } from '../core/usage.js';
import type {
  Cost,
  FinishEvent,
  FinishReason,
  StartEvent,
  TokenEvent,
  ToolCallEvent,
  Usage,
} from '../core/events.js';
import { assertNever, ZERO_COST, ZERO_USAGE } from '../core/events.js';
import { defineModel, type LanguageModel, type ModelPool } from '../core/model.js';
import type { ChatRequest } from '../core/request.js';
import {
  type EmbedFn,
  isSync,
  normalizeAnswer,
  resolveSimilarity,
  type SimilarityFn,
  type SimilarityMeasure,
} from '../fusion/similarity.js';
import { type FusionStrategy, majorityVote, weightedConsensus } from '../fusion/strategies.js';

/** Options of {@link fuse}. Every field has a default. */
export interface FuseOptions {
  /**
   * How the answer is chosen: `majority` (each member counts one), `weighted` (each counts its weight),
   * or your own strategy. Default `weighted` when `weights` are given, else `majority`.
   */
  readonly strategy?: 'majority' | 'weighted' | FusionStrategy;
  /** Weight of each member, by pool position or as a function. Default 1 each. */
  readonly weights?: readonly number[] | ((model: LanguageModel, index: number) => number);
  /**
   * How alike two answers are: `jaccard` (token-set overlap), `edit` (normalized edit distance), a
   * function, or a measure (see `embeddingSimilarity`). Default `jaccard`, or embeddings when `embed`
   * is given.
   */
  readonly similarity?: 'jaccard' | 'edit' | SimilarityFn | SimilarityMeasure;
  /** Embeddings for the default similarity: cosine of `embed(texts)` vectors. */
  readonly embed?: EmbedFn;
  /** Two answers agree when their similarity is at least this. Default 0.8. */
  readonly threshold?: number;
  /** Applied to each answer before comparing. Default `normalizeAnswer` (case, spaces, final punctuation). */
  readonly normalize?: (text: string) => string;
  /**
   * The least support (group weight; members, in a majority vote) an answer needs. Default: more than
   * half of the total weight (⌊N/2⌋+1 members in a majority vote).
   */
  readonly quorum?: number;
  /** Decide as soon as a group reaches the quorum and cancel the members still running. Default `true`. */
  readonly earlyQuorum?: boolean;
  /**
   * What the fused model's `stream()` does when no group reached the quorum once every member ended:
   * `fail` (an `LLMError` of kind `all_failed`, the default) or `best` (the best answer anyway).
   * `run()` always reports the result, with `quorumReached: false`.
   */
  readonly onNoQuorum?: 'fail' | 'best';
  /** The fused model's name. Default `fuse(provider/model, …)`. */
  readonly label?: string;
  /** Clock for latencies. Default `asyncScheduler`. */
  readonly scheduler?: SchedulerLike;
}

/** Where a member stands. `cancelled`: stopped by early quorum (or never started because of it). */
export type MemberStatus = 'pending' | 'streaming' | 'done' | 'failed' | 'cancelled';

/** One member's answer, as far as it got. */
export interface MemberAnswer {
  /** Position in the pool. */
  readonly index: number;
  /** Who answered: the member's last `start`, or the pool model's names when it never started. */
  readonly provider: string;
  /** The model that answered. */
  readonly model: string;
  /** The vendor's response id, from the member's `start`. */
  readonly responseId: string | undefined;
  /** Where the member is. */
  readonly status: MemberStatus;
  /** Its weight in the vote. */
  readonly weight: number;
  /** Its answer since its last `reset`. */
  readonly text: string;
  /** Its visible reasoning. */
  readonly reasoning: string;
  /** Its completed tool calls. */
  readonly toolCalls: readonly ToolCallEvent[];
  /** The member's content events (`text`, `reasoning`, `tool-call-delta`, `tool-call`) since its last `reset`. */
  readonly content: readonly TokenEvent[];
  /** Why its answer ended, when it finished. */
  readonly finishReason: FinishReason | undefined;
  /** The vendor's own finish reason. */
  readonly rawFinishReason: string | undefined;
  /** From its `finish`; zero for members that failed or were cancelled (their vendors may still bill). */
  readonly usage: Usage;
  /** From its `finish`; zero for members that failed or were cancelled. */
  readonly cost: Cost;
  /** Why it failed, when it did. */
  readonly error: LLMError | undefined;
  /** Milliseconds from the start of the fusion to the member's first content event. */
  readonly timeToFirstTokenMs: number | undefined;
  /** Milliseconds from the start of the fusion to the member's end (finish, failure or cancellation). */
  readonly latencyMs: number | undefined;
}

/** The outcome of one fusion. */
export interface FusionResult {
  /** The chosen answer. */
  readonly answer: MemberAnswer;
  /** Its text. */
  readonly text: string;
  /** Every member, in pool order. */
  readonly members: readonly MemberAnswer[];
  /** Pool indexes of the members whose answers agree with the chosen one (itself included). */
  readonly group: readonly number[];
  /** The group's weight (members, in a majority vote). */
  readonly support: number;
  /** The group's share of the whole pool's weight, answered or not, in `[0, 1]`. */
  readonly agreement: number;
  /** Similarity-weighted support among the answers received, in `[0, 1]` (see `Decision.confidence`). */
  readonly confidence: number;
  /**
   * The support needed (see `FuseOptions.quorum`): the option as given (support must reach it), or by
   * default ⌊N/2⌋+1 for a majority vote (reach it) and half the total weight otherwise (exceed it).
   */
  readonly quorum: number;
  /** Whether the chosen group reached the quorum. */
  readonly quorumReached: boolean;
  /** True when the decision came before every member ended (members were cancelled). */
  readonly early: boolean;
  /** The strategy that decided (`majority`, `weighted`, or yours). */
  readonly strategy: string;
  /** Sum of every member's reported usage and cost. */
  readonly usage: Usage;
  /** Sum of every member's cost. */
  readonly cost: Cost;
  /** Milliseconds from subscribe to the decision. */
  readonly latencyMs: number;
}

/**
 * Progress of a fusion, as {@link FusedModel.run} streams it: every member's events and status changes,
 * then one `result` (then completion).
 */
export type FusionEvent =
  | {
      /** A member's event. */
      readonly type: 'member-event';
      /** The member's position in the pool. */
      readonly index: number;
      /** The event, as the member emitted it. */
      readonly event: TokenEvent;
    }
  | {
      /** A member's status changed. */
      readonly type: 'member-status';
      /** The member's position in the pool. */
      readonly index: number;
      /** Its new status. */
      readonly status: MemberStatus;
      /** Why it failed, with status `failed`. */
      readonly error?: LLMError;
    }
  | {
      /** The decision (always last). */
      readonly type: 'result';
      /** The chosen answer and how it was reached. */
      readonly result: FusionResult;
    };

/** Counters over every fusion of one fused model. */
export interface FusionMetrics {
  /** Fusions that produced a result. */
  readonly fusions: number;
  /** Fusions that failed (every member failed, or a similarity error). */
  readonly failures: number;
  /** Results without quorum. */
  readonly noQuorum: number;
  /** Results decided early, and the members that cancelled. */
  readonly early: number;
  /** Members cancelled by early decisions. */
  readonly cancelledMembers: number;
  /** Results by agreement, in ten buckets: `[0, 0.1)`, …, `[0.9, 1]`. */
  readonly agreement: readonly number[];
  /** Mean agreement over every result. */
  readonly meanAgreement: number;
  /** US dollars over every result, and per result. */
  readonly totalCost: number;
  /** Mean dollars per result. */
  readonly costPerFusion: number;
  /** Mean milliseconds from subscribe to decision. */
  readonly meanLatencyMs: number;
}

/** A fused pool: a {@link LanguageModel} whose stream is the chosen answer, with the richer `run()`. */
export interface FusedModel extends LanguageModel {
  /** The fusion with its progress: every member's events and status, then the {@link FusionResult}. */
  run(request: ChatRequest): Observable<FusionEvent>;
  /** Metrics over every fusion run through this model, now and on every change. */
  readonly metrics$: Observable<FusionMetrics>;
  /** Metrics over every fusion run through this model, now. */
  metrics(): FusionMetrics;
}

interface MemberState {
  status: MemberStatus;
  start: StartEvent | undefined;
  text: string;
  reasoning: string;
  toolCalls: ToolCallEvent[];
  /** The content events since the last `reset`, to replay as the fused answer. */
  content: TokenEvent[];
  finish: FinishEvent | undefined;
  error: LLMError | undefined;
  firstTokenAt: number | undefined;
  endedAt: number | undefined;
  /** Completion order among answered members. */
  order: number;
}

/**
 * Response fusion: sends one request to every model of a pool at once and combines the answers by
 * majority vote or weighted consensus over a pluggable similarity, with a quorum.
 *
 * Ask several, keep what most agree on. With `earlyQuorum` (the default), as soon as a group of similar
 * answers reaches the quorum the members still running are unsubscribed (their sockets closed).
 *
 * As a `LanguageModel`, the fused model's stream is silent until the decision, then emits, at once:
 * - `start` with the chosen member's provider, model and id (not marked cached);
 * - the chosen member's content events (`text`, `reasoning`, `tool-call-delta`, `tool-call`) as it sent
 *   them (after its last `reset`, if it had one);
 * - one `usage` and the `finish`, both with the TOTAL usage and cost of every member (so budgets count
 *   what the fusion spent), and the chosen member's finish reason and raw reason.
 * Members that failed or were cancelled report no usage or cost (they sent no `finish`). When no group
 * reaches the quorum, the stream fails (`all_failed`, with the members' errors as causes) unless
 * `onNoQuorum: 'best'`. When every member fails, it fails with `all_failed`.
 *
 * `run(request)` gives the progress instead: each member's events and status, then the
 * {@link FusionResult} (chosen answer, every member's answer, agreement, confidence, cost, latency).
 *
 * ## Example
 * ```ts
 * const jury = fuse({ quorum: 2 })([gpt, claude, flash]);
 * const answer = await collect(jury.stream({ messages, temperature: 0 })); // cost: all three
 * jury.run(request).subscribe((e) => e.type === 'result' && console.log(e.result.agreement));
 * ```
 *
 * @see {@link majorityVote}, {@link weightedConsensus}, `embeddingSimilarity`
 * @param options - See {@link FuseOptions}.
 * @returns A pool policy: `(pool) => FusedModel`.
 */
export function fuse(options: FuseOptions = {}): (pool: ModelPool) => FusedModel {
  return (pool) => fusion(pool, options);
}

/**
 * {@link fuse} applied to a pool at once.
 *
 * ## Example
 * ```ts
 * fusion([gpt, claude, flash], { similarity: 'edit', threshold: 0.9 }).run(request).subscribe(render);
 * ```
 *
 * @param pool The members.
 * @returns The fused model.
 */
export function fusion(pool: ModelPool, options: FuseOptions = {}): FusedModel {
  const scheduler = options.scheduler ?? asyncScheduler;
  const weightsOption = options.weights;
  const weights = pool.map((model, i) =>
    typeof weightsOption === 'function' ? weightsOption(model, i) : (weightsOption?.[i] ?? 1),
  );
  const strategy = resolveStrategy(options.strategy, weightsOption !== undefined);
  const counted = (i: number): number => (strategy.name === 'majority' ? 1 : (weights[i] ?? 1));
  const totalWeight = pool.reduce((sum, _, i) => sum + counted(i), 0);
  const quorum =
    options.quorum ?? (strategy.name === 'majority' ? Math.floor(pool.length / 2) + 1 : totalWeight / 2);
  const reaches = (support: number): boolean =>
    options.quorum === undefined && strategy.name !== 'majority'
      ? support * 2 > totalWeight
      : support >= quorum - 1e-9;
  const measure = resolveSimilarity(options.similarity, options.embed);
  const threshold = options.threshold ?? 0.8;
  const normalize = options.normalize ?? normalizeAnswer;
  const earlyQuorum = options.earlyQuorum ?? true;
  const label = options.label ?? `fuse(${pool.map((m) => `${m.provider}/${m.model}`).join(', ')})`;
  const metrics = createMetrics();

  const run = (request: ChatRequest): Observable<FusionEvent> =>
    new Observable<FusionEvent>((subscriber) => {
      const startedAt = scheduler.now();
      if (pool.length === 0) {
        subscriber.error(new LLMError('invalid_request', 'fuse(): the pool is empty'));
        return;
      }
      const states: MemberState[] = pool.map(() => ({
        status: 'pending',
        start: undefined,
        text: '',
        reasoning: '',
        toolCalls: [],
        content: [],
        finish: undefined,
        error: undefined,
        firstTokenAt: undefined,
        endedAt: undefined,
        order: -1,
      }));
      const handles = pool.map(() => new Subscription());
      for (const handle of handles) subscriber.add(handle);
      let decided = false;
      let answered = 0;
      let evaluation = 0;

      const setStatus = (index: number, status: MemberStatus): void => {
        const state = states[index] as MemberState;
        state.status = status;
        if (status !== 'streaming') state.endedAt = scheduler.now() - startedAt;
        subscriber.next({
          type: 'member-status',
          index,
          status,
          ...(state.error !== undefined && { error: state.error }),
        });
      };

      const fail = (error: unknown): void => {
        decided = true;
        metrics.failed();
        for (const handle of handles) handle.unsubscribe();
        subscriber.error(error);
      };

      const conclude = (
        ballots: readonly number[],
        decision: { chosen: number; group: readonly number[]; support: number; confidence: number },
      ): void => {
        decided = true;
        const early = states.some((s) => s.status === 'pending' || s.status === 'streaming');
        states.forEach((state, index) => {
          if (state.status === 'pending' || state.status === 'streaming') {
            handles[index]?.unsubscribe();
            setStatus(index, 'cancelled');
          }
        });
        const members = states.map((state, index) =>
          answerOf(pool[index] as LanguageModel, state, index, weights[index] ?? 1),
        );
        const chosen = members[ballots[decision.chosen] as number] as MemberAnswer;
        const usage = members.reduce((sum, m) => addUsage(sum, m.usage), ZERO_USAGE);
        const cost = members.reduce((sum, m) => addCost(sum, m.cost), ZERO_COST);
        const result: FusionResult = {
          answer: chosen,
          text: chosen.text,
          members,
          group: decision.group.map((position) => ballots[position] as number).sort((a, b) => a - b),
          support: decision.support,
          agreement: totalWeight > 0 ? decision.support / totalWeight : 0,
          confidence: decision.confidence,
          quorum,
          quorumReached: reaches(decision.support),
          early,
          strategy: strategy.name,
          usage,
          cost,
          latencyMs: scheduler.now() - startedAt,
        };
        metrics.record(result);
        subscriber.next({ type: 'result', result });
        subscriber.complete();
      };

      /** Weighs the answers so far; decides when a group reaches the quorum, or when nobody is left running. */
      const evaluate = (): void => {
        if (decided) return;
        // User code runs here (normalize, similarity, strategy): whatever it throws fails the fusion.
        try {
          weigh();
        } catch (error) {
          fail(toLLMError(error));
        }
      };
      const weigh = (): void => {
        const running = states.some((s) => s.status === 'pending' || s.status === 'streaming');
        if (answered === 0) {
          if (!running) {
            const causes = states.map((s) => s.error).filter((e): e is LLMError => e !== undefined);
            fail(new LLMError('all_failed', `fuse(): all ${pool.length} members failed`, { causes }));
          }
          return;
        }
        if (running && !earlyQuorum) return;
        const ballots = states
          .map((state, index) => ({ state, index }))
          .filter(({ state }) => state.status === 'done')
          .sort((a, b) => a.state.order - b.state.order)
          .map(({ index }) => index);
        const texts = ballots.map((index) => normalize(comparable(states[index] as MemberState)));
        const version = ++evaluation;
        const onMatrix = (matrix: number[][]): void => {
          if (decided || version !== evaluation) return;
          const decision = strategy.decide({
            ballots: ballots.map((member) => ({ member, weight: weights[member] ?? 1 })),
            similarity: matrix,
            threshold,
          });
          if (!decision) return;
          if (running && !reaches(decision.support)) return;
          conclude(ballots, decision);
        };
        const matrix = measure.matrix(texts);
        if (isSync(matrix)) return onMatrix(matrix);
        Promise.resolve(matrix)
          .then(onMatrix)
          .catch((error: unknown) => {
            if (!decided && version === evaluation) fail(toLLMError(error));
          });
      };

      const observer = (index: number): Observer<TokenEvent> => {
        const state = states[index] as MemberState;
        const model = pool[index] as LanguageModel;
        return {
          next: (event) => {
            if (decided) return;
            if (state.status === 'pending') setStatus(index, 'streaming');
            record(state, event, () => scheduler.now() - startedAt);
            subscriber.next({ type: 'member-event', index, event });
          },
          error: (error: unknown) => {
            if (decided) return;
            state.error = toLLMError(error, model.provider, model.model);
            setStatus(index, 'failed');
            evaluate();
          },
          complete: () => {
            if (decided) return;
            if (!state.finish) {
              state.error = new LLMError('incomplete', 'The member stream completed without a finish event', {
                provider: state.start?.provider ?? model.provider,
                model: state.start?.model ?? model.model,
              });
              setStatus(index, 'failed');
            } else {
              state.order = answered++;
              setStatus(index, 'done');
            }
            evaluate();
          },
        };
      };

      pool.forEach((model, index) => {
        if (decided || subscriber.closed) return;
        const handle = handles[index] as Subscription;
        // The handle holds the member's subscriber before any event flows, so early quorum can close
        // a member even in the middle of a synchronous emission.
        new Observable<TokenEvent>((inner) => {
          handle.add(inner);
          return model.stream(request).subscribe(inner);
        }).subscribe(observer(index));
      });
      if (!decided) evaluate();
    });

  const onNoQuorum = options.onNoQuorum ?? 'fail';
  const fused = defineModel({
    provider: 'fusion',
    model: label,
    stream: (request) =>
      run(request).pipe(
        concatMap((event) => {
          if (event.type !== 'result') return [];
          const { result } = event;
          if (!result.quorumReached && onNoQuorum === 'fail') {
            const causes = result.members.map((m) => m.error).filter((e): e is LLMError => e !== undefined);
            throw new LLMError(
              'all_failed',
              `fuse(): no answer reached the quorum (best support ${result.support} of ${result.quorum} needed)`,
              { causes, retryable: false },
            );
          }
          return from(answerEvents(result));
        }),
      ),
  });
  return Object.assign(fused, {
    run,
    metrics$: metrics.subject.asObservable(),
    metrics: () => metrics.subject.getValue(),
  });
}

function resolveStrategy(strategy: FuseOptions['strategy'], weighted: boolean): FusionStrategy {
  if (strategy === 'majority') return majorityVote;
  if (strategy === 'weighted') return weightedConsensus;
  return strategy ?? (weighted ? weightedConsensus : majorityVote);
}

/** Folds a member's event into its state (a `reset` voids what it had said). */
function record(state: MemberState, event: TokenEvent, now: () => number): void {
  switch (event.type) {
    case 'start':
      state.start = event;
      break;
    case 'text':
      state.firstTokenAt ??= now();
      state.text += event.text;
      state.content.push(event);
      break;
    case 'reasoning':
      state.firstTokenAt ??= now();
      state.reasoning += event.text;
      state.content.push(event);
      break;
    case 'tool-call-delta':
      state.firstTokenAt ??= now();
      state.content.push(event);
      break;
    case 'tool-call':
      state.firstTokenAt ??= now();
      state.toolCalls.push(event);
      state.content.push(event);
      break;
    case 'finish':
      state.finish = event;
      break;
    case 'reset':
      state.text = '';
      state.reasoning = '';
      state.toolCalls = [];
      state.content = [];
      state.firstTokenAt = undefined;
      break;
    case 'object':
    case 'element':
    case 'tool-result':
    case 'tool-approval':
    case 'step':
    case 'usage':
    case 'fallback':
    case 'route':
      break;
    default:
      assertNever(event);
  }
}

/** What is compared: the text, or for an answer made of tool calls, the calls (name and arguments). */
function comparable(state: MemberState): string {
  if (state.text.trim() !== '' || state.toolCalls.length === 0) return state.text;
  return canonicalJson(state.toolCalls.map((call) => ({ name: call.name, args: call.args })));
}

function answerOf(model: LanguageModel, state: MemberState, index: number, weight: number): MemberAnswer {
  return {
    index,
    provider: state.start?.provider ?? model.provider,
    model: state.start?.model ?? model.model,
    responseId: state.start?.id,
    status: state.status,
    weight,
    text: state.text,
    reasoning: state.reasoning,
    toolCalls: state.toolCalls,
    content: state.content,
    finishReason: state.finish?.reason,
    rawFinishReason: state.finish?.raw,
    usage: state.finish?.usage ?? ZERO_USAGE,
    cost: state.finish?.cost ?? ZERO_COST,
    error: state.error,
    timeToFirstTokenMs: state.firstTokenAt,
    latencyMs: state.endedAt,
  };
}

/** The fused model's stream for a result: the chosen answer, with the total usage and cost. */
function answerEvents(result: FusionResult): TokenEvent[] {
  const { answer } = result;
  const events: TokenEvent[] = [
    {
      type: 'start',
      provider: answer.provider,
      model: answer.model,
      ...(answer.responseId !== undefined && { id: answer.responseId }),
    },
    ...answer.content,
  ];
  events.push({ type: 'usage', usage: result.usage });
  events.push({
    type: 'finish',
    reason: answer.finishReason ?? 'stop',
    ...(answer.rawFinishReason !== undefined && { raw: answer.rawFinishReason }),
    usage: result.usage,
    cost: result.cost,
  });
  return events;
}

function createMetrics() {
  const state = {
    fusions: 0,
    failures: 0,
    noQuorum: 0,
    early: 0,
    cancelledMembers: 0,
    agreement: new Array<number>(10).fill(0),
    agreementSum: 0,
    totalCost: 0,
    latencySum: 0,
  };
  const snapshot = (): FusionMetrics => ({
    fusions: state.fusions,
    failures: state.failures,
    noQuorum: state.noQuorum,
    early: state.early,
    cancelledMembers: state.cancelledMembers,
    agreement: [...state.agreement],
    meanAgreement: state.fusions === 0 ? 0 : state.agreementSum / state.fusions,
    totalCost: state.totalCost,
    costPerFusion: state.fusions === 0 ? 0 : state.totalCost / state.fusions,
    meanLatencyMs: state.fusions === 0 ? 0 : state.latencySum / state.fusions,
  });
  const subject = new BehaviorSubject<FusionMetrics>(snapshot());
  return {
    subject,
    record(result: FusionResult) {
      state.fusions++;
      if (!result.quorumReached) state.noQuorum++;
      if (result.early) state.early++;
      state.cancelledMembers += result.members.filter((m) => m.status === 'cancelled').length;
      const bucket = Math.min(9, Math.floor(result.agreement * 10));
      state.agreement[bucket] = (state.agreement[bucket] ?? 0) + 1;
      state.agreementSum += result.agreement;
      state.totalCost += result.cost.total;
      state.latencySum += result.latencyMs;
      subject.next(snapshot());
    },
    failed() {
      state.failures++;
      subject.next(snapshot());
    },
  };
}
