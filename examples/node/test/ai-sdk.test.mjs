// The Vercel AI SDK (OpenAI-compatible provider) against a running gateway.
import assert from "node:assert/strict";
import { test } from "node:test";
import { APICallError } from "ai";
import { gateway, generate, stream } from "../ai-sdk.mjs";

test("generateText", async () => {
  const { text, usage, finishReason } = await generate("Hello from the AI SDK");
  assert.ok(text.length > 0);
  assert.ok(["stop", "length"].includes(finishReason), finishReason);
  assert.ok((usage.outputTokens ?? 0) > 0);
});

test("streamText: the text arrives in pieces and matches generateText", async () => {
  /** @type {string[]} */
  const pieces = [];
  const { text, usage } = await stream("Hello from the AI SDK", (p) => pieces.push(p));
  assert.ok(pieces.length > 1, "the answer came in pieces");
  assert.equal(pieces.join(""), text);
  assert.equal(text, (await generate("Hello from the AI SDK")).text);
  assert.ok((usage.outputTokens ?? 0) > 0, "includeUsage brought the usage chunk");
});

test("an unknown model is an APICallError with status 404, streamed or not", async () => {
  const missing = gateway("no-such-model");
  /** @param {unknown} error */
  const isNotFound = (error) => {
    assert.ok(APICallError.isInstance(error), `${error}`);
    assert.equal(error.statusCode, 404);
    assert.match(error.responseBody ?? "", /model_not_found/);
    return true;
  };
  await assert.rejects(generate("Hello", missing), isNotFound);
  await assert.rejects(
    stream("Hello", () => {}, missing),
    isNotFound,
  );
});
