// The Vercel AI SDK's default provider, openai() (the Responses API), against a running
// gateway: what the SDK sends is recorded by a fetch of our own, and what the server
// stored is read back through the API.
import assert from "node:assert/strict";
import { test } from "node:test";
import { APICallError } from "ai";
import { generate, stream } from "../ai-sdk.mjs";
import { chat, gatewayProvider } from "../ai-sdk-responses.mjs";
import { gatewayClient } from "../chat.mjs";

const client = gatewayClient();

/**
 * A model whose requests are recorded: the URL, the JSON body, and the response's
 * x-ignored-params header (the request fields the server did not honour).
 * @param {string} [modelId]
 */
function recordingModel(modelId = process.env.OPENAI_MODEL ?? "gpt-3.5-turbo") {
  /** @type {{url: string, body: any, ignored: string | null}[]} */
  const requests = [];
  const provider = gatewayProvider({
    fetch: async (url, init) => {
      const response = await fetch(url, init);
      const body = JSON.parse(String(init?.body));
      requests.push({ url: String(url), body, ignored: response.headers.get("x-ignored-params") });
      return response;
    },
  });
  return { model: provider(modelId), requests };
}

/** @param {{url: string, ignored: string | null}[]} requests */
function allToResponsesWithNothingIgnored(requests) {
  for (const { url, ignored } of requests) {
    assert.match(url, /\/v1\/responses$/);
    assert.equal(ignored, null, `the server ignored: ${ignored}`);
  }
}

/** A stored message's text. @param {any} item */
const itemText = (item) => item.content.map((/** @type {any} */ p) => p.text).join("");

test("generateText posts to /v1/responses; the answer is stored", async () => {
  const { model, requests } = recordingModel();
  const { text, usage, finishReason, id } = await generate("Hello from openai()", model);
  assert.ok(text.length > 0);
  assert.ok(["stop", "length"].includes(finishReason), finishReason);
  assert.ok((usage.outputTokens ?? 0) > 0);
  assert.equal(requests.length, 1);
  allToResponsesWithNothingIgnored(requests);
  assert.equal(requests[0].body.stream, undefined);
  assert.equal(requests[0].body.store, undefined, "store is left to its default, true");
  assert.match(id, /^resp_/);
  assert.equal((await client.responses.retrieve(id)).output_text, text);
});

test("streamText: the text arrives in pieces, matches generateText, and is stored", async () => {
  const { model, requests } = recordingModel();
  /** @type {string[]} */
  const pieces = [];
  const { text, usage, finishReason, id } = await stream("Hello from openai()", (p) => pieces.push(p), model);
  assert.ok(pieces.length > 1, "the answer came in pieces");
  assert.equal(pieces.join(""), text);
  assert.ok(["stop", "length"].includes(finishReason), finishReason);
  assert.ok((usage.outputTokens ?? 0) > 0, "the usage came with response.completed");
  assert.equal(requests[0].body.stream, true);
  allToResponsesWithNothingIgnored(requests);
  assert.equal(text, (await generate("Hello from openai()", model)).text);
  assert.equal((await client.responses.retrieve(id)).output_text, text);
});

test("a conversation: earlier answers go back as item references, and the server resolves them", async () => {
  const { model, requests } = recordingModel();
  const turns = await chat(["Remember the word blue.", "Which word was it?", "Say it once more."], model);
  assert.equal(requests.length, 3);
  allToResponsesWithNothingIgnored(requests);
  // What the SDK sent: the user messages in full, each answer as an item reference.
  const answerIds = [];
  for (const { responseId } of turns.slice(0, 2)) {
    const stored = await client.responses.retrieve(responseId);
    assert.equal(stored.output.length, 1);
    answerIds.push(stored.output[0].id);
  }
  const shapes = requests.map(({ body }) =>
    body.input.map((/** @type {any} */ item) => (item.type === "item_reference" ? item : item.role)),
  );
  const reference = (/** @type {string | undefined} */ id) => ({ type: "item_reference", id });
  assert.deepEqual(shapes, [
    ["user"],
    ["user", reference(answerIds[0]), "user"],
    ["user", reference(answerIds[0]), "user", reference(answerIds[1]), "user"],
  ]);
  // What the server made of it: the references resolved to the stored answers.
  const items = [];
  for await (const item of client.responses.inputItems.list(turns[2].responseId, { order: "asc" })) {
    items.push(item);
  }
  assert.deepEqual(
    items.map((item) => [item.type, item.type === "message" && item.role, item.id]),
    [
      ["message", "user", items[0].id],
      ["message", "assistant", answerIds[0]],
      ["message", "user", items[2].id],
      ["message", "assistant", answerIds[1]],
      ["message", "user", items[4].id],
    ],
  );
  assert.deepEqual(
    items.map(itemText),
    ["Remember the word blue.", turns[0].text, "Which word was it?", turns[1].text, "Say it once more."],
  );
});

test("an unknown model is an APICallError with status 404", async () => {
  const { model } = recordingModel("no-such-model");
  await assert.rejects(generate("Hello", model), (error) => {
    assert.ok(APICallError.isInstance(error), `${error}`);
    assert.equal(error.statusCode, 404);
    assert.match(error.responseBody ?? "", /model_not_found/);
    return true;
  });
});
