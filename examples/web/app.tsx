/**
 * The demo page: one form, one `useTokenStream` call. Everything it shows (text, status, provider, the
 * switches, the cost) comes from the hook's snapshot; Stop is the hook's `stop()`.
 */
import { type FormEvent, StrictMode, useState } from 'react';
import { createRoot } from 'react-dom/client';
import type { Observable } from 'rxjs';
import { fromSSE, type TokenEvent } from 'rxllm';
import { useTokenStream } from 'rxllm/react';
import { DEMO_SCENARIOS, type DemoScenario, type GenerateBody, isDemoScenario } from './scenarios.js';

function App() {
  const asked = new URLSearchParams(window.location.search).get('scenario');
  const [prompt, setPrompt] = useState('Why do token streams need backpressure and cancellation?');
  const [scenario, setScenario] = useState<DemoScenario>(isDemoScenario(asked) ? asked : 'normal');
  const [stream, setStream] = useState<Observable<TokenEvent> | null>(null);
  const answer = useTokenStream(stream);
  const live = answer.status === 'streaming';

  const generate = (event: FormEvent) => {
    event.preventDefault();
    const body: GenerateBody = { prompt, scenario };
    setStream(fromSSE('/api/generate', { body }));
  };

  return (
    <main>
      <h1>
        rxllm <small>· a live token stream, rendered by useTokenStream()</small>
      </h1>
      <form onSubmit={generate}>
        <input aria-label="Prompt" value={prompt} onChange={(e) => setPrompt(e.target.value)} />
        <select
          aria-label="Scenario"
          data-testid="scenario"
          value={scenario}
          onChange={(e) => isDemoScenario(e.target.value) && setScenario(e.target.value)}
        >
          {Object.entries(DEMO_SCENARIOS).map(([name, label]) => (
            <option key={name} value={name} title={label}>
              {name}
            </option>
          ))}
        </select>
        <button className="primary" data-testid="generate" type="submit" disabled={live}>
          Generate
        </button>
        <button data-testid="stop" type="button" onClick={answer.stop} disabled={!live}>
          Stop
        </button>
      </form>

      <div className="bar">
        <span className={`pill status-${answer.status}`} data-testid="status" data-status={answer.status}>
          {answer.status}
        </span>
        <span className="pill provider" data-testid="provider">
          {answer.fallbacks.map((f, i) => (
            <span key={i}>
              <s>{f.from.provider}</s> →{' '}
            </span>
          ))}
          <b>{answer.provider ?? '—'}</b>
          {answer.model && ` · ${answer.model}`}
        </span>
        <span className="pill" data-testid="cost">
          cost <b>${answer.cost.toFixed(6)}</b>
          {answer.status !== 'idle' &&
            answer.costIsEstimate &&
            (answer.status === 'streaming' || answer.resets === 0
              ? ' (est.)'
              : ' (incl. est. of the reset answer)')}
        </span>
        {answer.usage && (
          <span className="pill">
            tokens {answer.usage.inputTokens} in · {answer.usage.outputTokens} out
          </span>
        )}
      </div>

      <ul className="switches" data-testid="switches">
        {answer.fallbacks.map((f, i) =>
          f.type === 'fallback' ? (
            <li key={i} className="fallback">
              ⤳ {f.from.provider}/{f.from.model} failed ({f.error.kind}
              {f.error.status !== undefined && `, HTTP ${f.error.status}`}) before its first token: switched
              provider
            </li>
          ) : (
            <li key={i} className="reset">
              ↺ {f.from.provider}/{f.from.model} failed mid-answer ({f.error.kind}): answer reset, restarting
              on the next provider
            </li>
          ),
        )}
      </ul>

      <div className={`output${live ? ' live' : ''}`} data-testid="output">
        {answer.text}
      </div>
      {answer.error && (
        <div className="error" data-testid="error">
          {answer.error.kind}: {answer.error.message}
        </div>
      )}
      <p className="muted">{DEMO_SCENARIOS[scenario]}</p>
    </main>
  );
}

const root = document.getElementById('root');
if (root) {
  createRoot(root).render(
    <StrictMode>
      <App />
    </StrictMode>,
  );
}
