/**
 * Writes an encrypted credential file from environment variables, for `credentials.file`:
 *
 *   RXLLM_CREDENTIALS_PASSWORD=… OPENAI_API_KEY=… ANTHROPIC_API_KEY=… \
 *     npx tsx examples/gateway/keys.ts rxllm.keys openai=OPENAI_API_KEY anthropic=ANTHROPIC_API_KEY
 *
 * Each `name=VARIABLE` argument stores the variable's value under `name` (used as `{ credential: name }`).
 * The file is AES-256-GCM with a scrypt key, mode 0600. The keys never appear on the command line.
 */
import { writeCredentialFile } from 'rxllm/config';

const [file, ...pairs] = process.argv.slice(2);
const password = process.env.RXLLM_CREDENTIALS_PASSWORD;
if (!file || pairs.length === 0 || !password) {
  process.stderr.write('usage: RXLLM_CREDENTIALS_PASSWORD=… keys.ts <file> name=ENV_VAR [name=ENV_VAR …]\n');
  process.exit(2);
}
const credentials: Record<string, string> = {};
for (const pair of pairs) {
  const [name, variable] = pair.split('=');
  const value = variable ? process.env[variable] : undefined;
  if (!name || !value) {
    process.stderr.write(`${pair}: expected name=ENV_VAR with the variable set\n`);
    process.exit(2);
  }
  credentials[name] = value;
}
await writeCredentialFile(file, credentials, password);
process.stderr.write(`wrote ${Object.keys(credentials).length} credential(s) to ${file} (mode 0600)\n`);
