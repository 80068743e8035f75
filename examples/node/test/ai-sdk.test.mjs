// The Vercel AI SDK (OpenAI-compatible provider) against a running gateway.
import assert from "node:assert/strict";
import { test } from "node:test";
import { generate, stream } from "../ai-sdk.mjs";

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
