// The Anthropic TypeScript SDK (@anthropic-ai/sdk) against a running gateway:
// ANTHROPIC_BASE_URL, ANTHROPIC_API_KEY. What the SDK was given is recorded by a fetch of
// our own and checked against the SDK's declared types (anthropic-shapes.mjs).
import assert from "node:assert/strict";
import { test } from "node:test";
import { AuthenticationError, NotFoundError } from "@anthropic-ai/sdk";
import { ask, countTokens, gatewayClient, model, streamAnswer, textOf } from "../anthropic.mjs";
import { errorResponse, message, recordingFetch, streamEvents, tokensCount } from "./anthropic-shapes.mjs";

/**
 * A client whose exchanges are recorded; `options` as for gatewayClient.
 * @param {import("@anthropic-ai/sdk").ClientOptions} [options]
 */
function recordingClient(options = {}) {
  const { fetch, exchanges } = recordingFetch();
  return { client: gatewayClient({ maxRetries: 0, fetch, ...options }), exchanges };
}

/**
 * The one exchange a call made, checked to go to `path` and to be taken as sent.
 * @param {import("./anthropic-shapes.mjs").Exchange[]} exchanges
 * @param {string} path
 */
function only(exchanges, path) {
  assert.equal(exchanges.length, 1);
  const [exchange] = exchanges;
  assert.equal(new URL(exchange.url).pathname, path);
  assert.equal(exchange.headers.get("x-ignored-params"), null, "the server ignored nothing");
  return exchange;
}

test("create: the body is a Message as the SDK declares it", async () => {
  const { client, exchanges } = recordingClient();
  const created = await ask(client, "Hello from the Anthropic SDK");
  const exchange = only(exchanges, "/v1/messages");
  assert.equal(exchange.status, 200);
  assert.ok(exchange.headers.get("request-id"), "the request-id header");
  const raw = JSON.parse(await exchange.text);
  message(raw, "body");
  assert.deepEqual(created, raw);
  assert.match(created.id, /^msg_/);
  assert.equal(created.model, model);
  assert.equal(created.stop_reason, "end_turn");
  assert.ok(textOf(created).length > 0);
  assert.ok(created.usage.input_tokens > 0 && created.usage.output_tokens > 0);
});

test("messages.stream: every event is a RawMessageStreamEvent, in order; finalMessage equals create", async () => {
  const { client, exchanges } = recordingClient();
  /** @type {string[]} */
  const pieces = [];
  const final = await streamAnswer(client, "Hello from the Anthropic SDK", (piece) => pieces.push(piece));
  const exchange = only(exchanges, "/v1/messages");
  assert.equal(exchange.body.stream, true);
  assert.match(exchange.headers.get("content-type") ?? "", /^text\/event-stream/);
  const events = streamEvents(await exchange.text);
  const types = events.map((event) => event.type);
  assert.deepEqual(types.slice(0, 2), ["message_start", "content_block_start"]);
  assert.deepEqual(types.slice(-3), ["content_block_stop", "message_delta", "message_stop"]);
  assert.deepEqual(new Set(types.slice(2, -3)), new Set(["content_block_delta"]));
  assert.ok(pieces.length > 1, "the text came in pieces");
  assert.equal(pieces.join(""), textOf(final));

  const whole = await ask(gatewayClient(), "Hello from the Anthropic SDK");
  assert.deepEqual(final.content, whole.content);
  assert.equal(final.stop_reason, whole.stop_reason);
  assert.deepEqual(final.usage, whole.usage);
});

test("count_tokens: a MessageTokensCount, the input tokens create reports", async () => {
  const { client, exchanges } = recordingClient();
  const counted = await countTokens(client, "Hello from the Anthropic SDK");
  tokensCount(JSON.parse(await only(exchanges, "/v1/messages/count_tokens").text), "body");
  const created = await ask(client, "Hello from the Anthropic SDK");
  assert.equal(counted, created.usage.input_tokens);
});

test("the SDK sends the key as a bearer token; as x-api-key it works too", async () => {
  const key = process.env.ANTHROPIC_API_KEY;
  const bearer = recordingClient();
  await ask(bearer.client, "Hello");
  const { sent } = only(bearer.exchanges, "/v1/messages");
  assert.equal(sent.get("authorization"), `Bearer ${key}`);
  assert.equal(sent.get("x-api-key"), null);
  const apiKeyHeader = recordingClient({ apiKey: null, defaultHeaders: { "x-api-key": key } });
  await ask(apiKeyHeader.client, "Hello");
  const exchange = only(apiKeyHeader.exchanges, "/v1/messages");
  assert.equal(exchange.sent.get("x-api-key"), key);
  assert.equal(exchange.sent.get("authorization"), null);
  assert.equal(exchange.status, 200);
});

test("errors are the SDK's typed errors, with ErrorResponse bodies", async () => {
  const missing = recordingClient();
  const hi = [{ role: /** @type {const} */ ("user"), content: "Hi" }];
  await assert.rejects(missing.client.messages.create({ model: "no-such-model", max_tokens: 8, messages: hi }), (error) => {
    assert.ok(error instanceof NotFoundError, `${error}`);
    assert.equal(error.type, "not_found_error");
    return true;
  });
  const refused = recordingClient({ apiKey: "not-a-key" });
  await assert.rejects(ask(refused.client, "Hi"), (error) => {
    assert.ok(error instanceof AuthenticationError, `${error}`);
    assert.equal(error.status, 401);
    return true;
  });
  for (const { text } of [...missing.exchanges, ...refused.exchanges]) errorResponse(JSON.parse(await text), "body");
});
