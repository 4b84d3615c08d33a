import { assertNever } from '../../core/events.js';
import type { RoutingStrategy } from '../types.js';
import { balancedStrategy } from './balanced.js';
import { capabilityStrategy } from './capability.js';
import { costStrategy } from './cost.js';
import { leastBusyStrategy } from './leastBusy.js';
import { performanceStrategy } from './performance.js';
import { priorityStrategy } from './priority.js';
import { qualityStrategy } from './quality.js';
import { roundRobinStrategy } from './roundRobin.js';
import { weightedRandomStrategy } from './weightedRandom.js';

export { balancedStrategy, type BalancedOptions, type BalancedWeights } from './balanced.js';
export { capabilityStrategy } from './capability.js';
export { costStrategy } from './cost.js';
export { leastBusyStrategy } from './leastBusy.js';
export { expectedLatencyMs, performanceStrategy, type PerformanceOptions } from './performance.js';
export { priorityStrategy } from './priority.js';
export { qualityStrategy } from './quality.js';
export { roundRobinStrategy } from './roundRobin.js';
export { weightedRandomStrategy, type WeightedRandomOptions } from './weightedRandom.js';

/** The built-in strategies by name, each with its default options. */
export type StrategyName =
  | 'cost'
  | 'quality'
  | 'performance'
  | 'balanced'
  | 'priority'
  | 'weighted-random'
  | 'round-robin'
  | 'least-busy'
  | 'capability';

/** A new instance of the built-in strategy `name` with default options. */
export function strategyByName(name: StrategyName): RoutingStrategy {
  switch (name) {
    case 'cost':
      return costStrategy();
    case 'quality':
      return qualityStrategy();
    case 'performance':
      return performanceStrategy();
    case 'balanced':
      return balancedStrategy();
    case 'priority':
      return priorityStrategy();
    case 'weighted-random':
      return weightedRandomStrategy();
    case 'round-robin':
      return roundRobinStrategy();
    case 'least-busy':
      return leastBusyStrategy();
    case 'capability':
      return capabilityStrategy();
    default:
      return assertNever(name);
  }
}
