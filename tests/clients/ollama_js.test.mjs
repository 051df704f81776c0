// The official ollama JavaScript client (ollama-js, pinned in package.json) against ollama-meter:
// embed, streamed chat, list and an error give the same results as straight to ollama-sim, plus the
// proxy's embedding_durations. The driver (run-js-client-test) starts both servers and passes
// their addresses in OLLAMA_SIM_URL and OLLAMA_METER_URL.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Ollama } from 'ollama';

const simUrl = process.env.OLLAMA_SIM_URL;
const meterUrl = process.env.OLLAMA_METER_URL;
if (!simUrl || !meterUrl) {
  throw new Error('OLLAMA_SIM_URL and OLLAMA_METER_URL must be set (run through run-js-client-test)');
}
const direct = new Ollama({ host: simUrl });
const proxied = new Ollama({ host: meterUrl });

// Collects a streamed chat into its parts, without the fields that change from run to run.
async function chatParts(client, content) {
  const stream = await client.chat({
    model: 'llama3.2',
    messages: [{ role: 'user', content }],
    stream: true,
  });
  const parts = [];
  for await (const part of stream) {
    const { created_at, total_duration, load_duration, prompt_eval_duration, eval_duration, ...rest } =
      part;
    parts.push(rest);
  }
  return parts;
}

test('embed through the proxy returns the direct vectors in input order plus durations', async () => {
  const input = ['@sleep=300;first', 'second', '@sleep=100;third', ''];
  const viaProxy = await proxied.embed({ model: 'all-minilm', input });
  const viaSim = await direct.embed({ model: 'all-minilm', input });
  assert.equal(viaProxy.model, 'all-minilm');
  assert.deepEqual(viaProxy.embeddings, viaSim.embeddings);
  assert.equal(viaProxy.embeddings.length, input.length);
  assert.equal(viaProxy.prompt_eval_count, viaSim.prompt_eval_count);
  assert.equal(viaProxy.embedding_durations.length, input.length);
  for (const d of viaProxy.embedding_durations) {
    assert.ok(Number.isInteger(d) && d > 0, `duration ${d} is a positive integer`);
  }
  assert.ok(viaProxy.embedding_durations[0] >= 300e6);
  assert.ok(viaProxy.embedding_durations[2] >= 100e6);
});

test('embed with one string input and with options matches a direct call', async () => {
  const request = { model: 'nomic-embed-text', input: 'just one', truncate: true, dimensions: 64, keep_alive: -1 };
  const viaProxy = await proxied.embed(request);
  const viaSim = await direct.embed(request);
  assert.deepEqual(viaProxy.embeddings, viaSim.embeddings);
  assert.equal(viaProxy.embeddings[0].length, 64);
  assert.equal(viaProxy.embedding_durations.length, 1);
});

test('streamed chat arrives part by part, identical to a direct stream', async () => {
  const viaProxy = await chatParts(proxied, 'hello there');
  const viaSim = await chatParts(direct, 'hello there');
  assert.ok(viaProxy.length >= 2, 'several streamed parts');
  assert.deepEqual(viaProxy, viaSim);
  assert.equal(viaProxy.at(-1).done, true);
});

test('list returns the same models as a direct call', async () => {
  const viaProxy = await proxied.list();
  const viaSim = await direct.list();
  assert.ok(viaProxy.models.length > 0);
  assert.deepEqual(viaProxy, viaSim);
});

test('an unknown model gives the same ResponseError through the proxy', async () => {
  const request = { model: 'missing-model', input: ['x', 'y'] };
  const failure = (client) =>
    client.embed(request).then(
      () => assert.fail('expected a ResponseError'),
      (error) => error,
    );
  const viaProxy = await failure(proxied);
  const viaSim = await failure(direct);
  assert.equal(viaProxy.name, 'ResponseError');
  assert.equal(viaProxy.status_code, 404);
  assert.equal(viaProxy.status_code, viaSim.status_code);
  assert.equal(viaProxy.error, viaSim.error);
});
