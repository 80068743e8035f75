// openai-node (the official SDK) against a running gateway: OPENAI_BASE_URL, OPENAI_API_KEY.
import assert from "node:assert/strict";
import { test } from "node:test";
import { NotFoundError } from "openai";
import { ask, gatewayClient, model, streamAnswer } from "../chat.mjs";

const client = gatewayClient();

test("the model list has the examples' model", async () => {
  /** @type {string[]} */
  const ids = [];
  for await (const entry of client.models.list()) ids.push(entry.id);
  assert.ok(ids.includes(model), `${model} not in ${ids}`);
});

test("a chat completion", async () => {
  const text = await ask(client, "Hello from Node");
  assert.ok(text.length > 0);
});

test("a streamed chat completion, token by token, with the usage chunk", async () => {
  /** @type {string[]} */
  const pieces = [];
  const { text, usage, chunks } = await streamAnswer(client, "Hello from Node", (p) => pieces.push(p));
  assert.ok(pieces.length > 1, "the answer came in pieces");
  assert.equal(pieces.join(""), text);
  // The same request without streaming gives the same text (the mock is deterministic).
  assert.equal(text, await ask(client, "Hello from Node"));
  assert.ok(usage, "the last chunk carries the usage");
  assert.ok(usage.completion_tokens > 0);
  assert.equal(usage.total_tokens, usage.prompt_tokens + usage.completion_tokens);
  assert.ok(chunks > pieces.length, "role, finish and usage chunks came too");
});

test("an unknown model is a NotFoundError with status 404", async () => {
  await assert.rejects(
    client.chat.completions.create({
      model: "no-such-model",
      messages: [{ role: "user", content: "Hello" }],
    }),
    (error) => {
      assert.ok(error instanceof NotFoundError, `${error}`);
      assert.equal(error.status, 404);
      assert.equal(error.code, "model_not_found");
      assert.equal(error.param, "model");
      return true;
    },
  );
});
