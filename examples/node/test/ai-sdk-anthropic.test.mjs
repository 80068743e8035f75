// The Vercel AI SDK's Anthropic provider (@ai-sdk/anthropic) against a running gateway:
// what it sends and what it was given, recorded by a fetch of our own; the bodies and
// events checked against @anthropic-ai/sdk's declared types (anthropic-shapes.mjs).
import assert from "node:assert/strict";
import { test } from "node:test";
import { APICallError } from "ai";
import { gatewayProvider, settings } from "../ai-sdk-anthropic.mjs";
import { generate, stream } from "../ai-sdk.mjs";
import { errorResponse, message, recordingFetch, streamEvents } from "./anthropic-shapes.mjs";

/** A model whose exchanges are recorded. @param {string} [modelId] */
function recordingModel(modelId = process.env.ANTHROPIC_MODEL ?? "gpt-3.5-turbo") {
  const { fetch, exchanges } = recordingFetch();
  return { model: gatewayProvider({ fetch })(modelId), exchanges };
}

/**
 * The one exchange a call made: a POST to /v1/messages with the key as x-api-key, that
 * the server took as sent.
 * @param {import("./anthropic-shapes.mjs").Exchange[]} exchanges
 */
function only(exchanges) {
  assert.equal(exchanges.length, 1);
  const [exchange] = exchanges;
  assert.equal(new URL(exchange.url).pathname, "/v1/messages");
  assert.equal(exchange.sent.get("x-api-key"), process.env.ANTHROPIC_API_KEY);
  assert.equal(exchange.headers.get("x-ignored-params"), null, "the server ignored nothing");
  assert.equal(exchange.body.max_tokens, settings.maxOutputTokens);
  return exchange;
}

test("generateText posts to /v1/messages; the body is a Message as the SDK declares it", async () => {
  const { model, exchanges } = recordingModel();
  const { text, usage, finishReason, id } = await generate("Hello from the AI SDK", model, settings);
  const exchange = only(exchanges);
  assert.equal(exchange.body.stream, undefined);
  const raw = JSON.parse(await exchange.text);
  message(raw, "body");
  assert.equal(id, raw.id);
  assert.ok(text.length > 0);
  assert.equal(text, raw.content[0].text);
  assert.equal(finishReason, "stop");
  assert.equal(usage.inputTokens, raw.usage.input_tokens);
  assert.equal(usage.outputTokens, raw.usage.output_tokens);
});

test("streamText: every event is a RawMessageStreamEvent; the text matches generateText", async () => {
  const { model, exchanges } = recordingModel();
  /** @type {string[]} */
  const pieces = [];
  const { text, usage, finishReason } = await stream("Hello from the AI SDK", (p) => pieces.push(p), model, settings);
  const exchange = only(exchanges);
  assert.equal(exchange.body.stream, true);
  const events = streamEvents(await exchange.text);
  assert.deepEqual([events[0].type, events.at(-1)?.type], ["message_start", "message_stop"]);
  assert.ok(pieces.length > 1, "the answer came in pieces");
  assert.equal(pieces.join(""), text);
  assert.equal(text, (await generate("Hello from the AI SDK", model, settings)).text);
  assert.equal(finishReason, "stop");
  // From message_start (input) and message_delta (output).
  assert.ok((usage.inputTokens ?? 0) > 0 && (usage.outputTokens ?? 0) > 0);
});

test("an unknown model is an APICallError with status 404 and an ErrorResponse body", async () => {
  const { model, exchanges } = recordingModel("no-such-model");
  await assert.rejects(generate("Hello", model, settings), (error) => {
    assert.ok(APICallError.isInstance(error), `${error}`);
    assert.equal(error.statusCode, 404);
    assert.match(error.responseBody ?? "", /not_found_error/);
    return true;
  });
  errorResponse(JSON.parse(await exchanges[0].text), "body");
});
