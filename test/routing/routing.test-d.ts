import { type Observable, pipe } from 'rxjs';
import { describe, expectTypeOf, it } from 'vitest';
import type { LanguageModel, ModelPolicy, ModelPool } from '../../src/core/model.js';
import type { ChatRequest } from '../../src/core/request.js';
import { createLedger, type Ledger, type MonthProjection } from '../../src/ledger/ledger.js';
import { withLedger } from '../../src/ledger/withLedger.js';
import { type Budget, budget, type BudgetAlert, createBudget } from '../../src/operators/budget.js';
import { withFallback } from '../../src/operators/withFallback.js';
import { type AffordabilityCheck, createRouter, type RoutedModel, route } from '../../src/routing/route.js';
import type { StrategyName } from '../../src/routing/strategies/index.js';
import type { RouteCandidate, RouteDecision, RoutingStrategy } from '../../src/routing/types.js';
import type { MaybePromise } from '../../src/state/store.js';

declare const pool: ModelPool;
declare const gpt: LanguageModel;

describe('routing, budget and ledger types', () => {
  it('route() is a pool policy; its model composes with policies in RxJS pipe', () => {
    expectTypeOf(route()).toEqualTypeOf<(pool: ModelPool) => RoutedModel>();
    expectTypeOf(route()(pool)).toMatchTypeOf<LanguageModel>();
    const spend = createBudget({ limits: { day: 5 } });
    const ledger = createLedger();
    const model = pipe(
      route({ strategy: 'cost', budget: spend }),
      withFallback(),
      spend.policy(),
      withLedger(ledger),
    )(pool);
    expectTypeOf(model).toEqualTypeOf<LanguageModel>();
    expectTypeOf(createRouter().decisions$).toEqualTypeOf<Observable<RouteDecision>>();
  });

  it('strategies are names or functions of ranked candidates', () => {
    expectTypeOf<'cost' | 'round-robin' | 'weighted-random'>().toMatchTypeOf<StrategyName>();
    const mine: RoutingStrategy = (candidates: readonly RouteCandidate[], request: ChatRequest) =>
      candidates.filter((c) => c.quality > (request.hints?.minQuality ?? 0));
    expectTypeOf(route({ strategy: mine })).toEqualTypeOf<(pool: ModelPool) => RoutedModel>();
    // @ts-expect-error not a strategy name
    route({ strategy: 'cheapest' });
  });

  it('a budget is a policy factory and an affordability check; budget() takes a config or a budget', () => {
    const spend = createBudget();
    expectTypeOf(spend).toMatchTypeOf<AffordabilityCheck>();
    expectTypeOf(spend.policy()).toEqualTypeOf<ModelPolicy>();
    expectTypeOf(budget(spend)).toEqualTypeOf<ModelPolicy>();
    expectTypeOf(budget({ perRequest: 0.1 })).toEqualTypeOf<ModelPolicy>();
    expectTypeOf(spend.alerts$).toEqualTypeOf<Observable<BudgetAlert>>();
    expectTypeOf(gpt.pipe(budget(spend))).toEqualTypeOf<LanguageModel>();
    expectTypeOf<Budget['outstanding']>().returns.toEqualTypeOf<MaybePromise<number>>();
  });

  it('ledger queries answer MaybePromises (await them)', () => {
    const ledger: Ledger = createLedger();
    expectTypeOf(ledger.projectMonth()).toEqualTypeOf<MaybePromise<MonthProjection>>();
    expectTypeOf(withLedger(ledger)).toEqualTypeOf<ModelPolicy>();
  });
});
