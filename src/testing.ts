/**
 * rxllm/testing: a wire-level provider simulator and a scripted in-memory model, to test pipelines
 * without spending money.
 *
 * @packageDocumentation
 */

// Simulator
export type { RenderedStream, WireProtocol } from './testing/simulator/protocol.js';
export type {
  Fault,
  ResolvedScenario,
  ResolvedToolCall,
  Scenario,
  SimErrorKind,
  SimFinish,
  SimToolCall,
} from './testing/simulator/scenario.js';
export { DEFAULT_TEXT, resolveScenario, splitTokens } from './testing/simulator/scenario.js';
export type { ScenarioHandler, SimRequest, Simulator, SimulatorOptions } from './testing/simulator/server.js';
export { createSimulator } from './testing/simulator/server.js';
export type { SimToolResult } from './testing/simulator/toolResults.js';
export { toolConversation, toolResultsOf } from './testing/simulator/toolResults.js';
export { anthropicProtocol } from './testing/simulator/protocols/anthropic.js';
export { geminiProtocol } from './testing/simulator/protocols/gemini.js';
export { ollamaProtocol } from './testing/simulator/protocols/ollama.js';
export { openaiProtocol } from './testing/simulator/protocols/openai.js';

// Scripted model
export type { Script, ScriptedModel, ScriptedModelOptions } from './testing/scriptedModel.js';
export { scriptedModel } from './testing/scriptedModel.js';
