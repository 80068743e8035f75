// openai-node's client.responses.* and client.embeddings against a running gateway.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { test } from "node:test";
import { NotFoundError } from "openai";
import { gatewayClient, model } from "../chat.mjs";
import { respond, streamResponse } from "../responses.mjs";

const client = gatewayClient();

/** @typedef {Awaited<ReturnType<typeof respond>>} CreatedResponse (with its `_request_id`) */

/** @param {number[]} numbers */
function strictlyIncreasing(numbers) {
  return numbers.every((n, i) => i === 0 || n > numbers[i - 1]);
}

test("create: a stored response, its text in output_text", async () => {
  const { data: response, response: http } = await respond(
    client,
    "Hello from the Responses API",
  ).withResponse();
  assert.equal(http.headers.get("x-ignored-params"), null, "the server honoured every field");
  assert.match(response.id, /^resp_/);
  assert.equal(response.object, "response");
  assert.equal(response.status, "completed");
  assert.equal(Reflect.get(response, "store"), true, "stored (not in the SDK's types)");
  assert.equal(response.output.length, 1);
  const [message] = response.output;
  assert.equal(message.type, "message");
  assert.ok(message.type === "message" && message.role === "assistant");
  const [part] = message.content;
  assert.equal(part.type, "output_text");
  assert.ok(response.output_text.length > 0);
  assert.equal(part.type === "output_text" && part.text, response.output_text);
  const usage = response.usage;
  assert.ok(usage && usage.output_tokens > 0);
  assert.equal(usage.total_tokens, usage.input_tokens + usage.output_tokens);
});

test("create with stream: true: typed events in order, increasing sequence numbers", async () => {
  /** @type {string[]} */
  const pieces = [];
  const prompt = "Hello from a Responses stream";
  const { response, text, events } = await streamResponse(client, prompt, (p) => pieces.push(p));
  const types = events.map((event) => event.type);
  const deltas = types.filter((type) => type === "response.output_text.delta").length;
  assert.ok(deltas > 1, "the text came in pieces");
  assert.deepEqual(types, [
    "response.created",
    "response.in_progress",
    "response.output_item.added",
    "response.content_part.added",
    ...Array(deltas).fill("response.output_text.delta"),
    "response.output_text.done",
    "response.content_part.done",
    "response.output_item.done",
    "response.completed",
  ]);
  const numbers = events.map((event) => event.sequence_number);
  assert.ok(strictlyIncreasing(numbers), `sequence numbers ${numbers}`);
  assert.equal(response.status, "completed");
  assert.equal(pieces.join(""), text);
  const done = events.find((event) => event.type === "response.output_text.done");
  assert.equal(done?.type === "response.output_text.done" && done.text, text);
  const [message] = response.output;
  assert.equal(message.type === "message" && message.content[0].type === "output_text" && message.content[0].text, text);
  // Every event names the same response; the stored one is the final one.
  const created = events[0];
  assert.equal(created.type === "response.created" && created.response.id, response.id);
  const stored = await client.responses.retrieve(response.id);
  assert.equal(stored.output_text, text);
  assert.deepEqual(stored.output, response.output);
  // The mock backend is deterministic: the same request without streaming, the same text.
  assert.equal((await respond(client, prompt)).output_text, text);
});

test("retrieve, inputItems.list (paged by the SDK), delete, then a 404", async () => {
  const response = await client.responses.create({
    model,
    instructions: "Answer briefly.",
    input: [
      { role: "user", content: "first" },
      { role: "user", content: [{ type: "input_text", text: "second" }] },
    ],
  });
  const retrieved = await client.responses.retrieve(response.id);
  assert.equal(retrieved.id, response.id);
  assert.equal(retrieved.output_text, response.output_text);
  assert.equal(retrieved.instructions, "Answer briefly.");

  /** @param {import("openai/resources/responses/responses").ResponseItem} item */
  const text = (item) =>
    item.type === "message" ? item.content.map((p) => ("text" in p ? p.text : "")).join("") : "";
  const newestFirst = await client.responses.inputItems.list(response.id);
  assert.deepEqual(newestFirst.data.map(text), ["second", "first"]);
  assert.equal(newestFirst.has_more, false);
  // One item a page: the SDK follows `has_more` / `after` to the end.
  /** @type {string[]} */
  const paged = [];
  for await (const item of client.responses.inputItems.list(response.id, { order: "asc", limit: 1 })) {
    assert.equal(item.type, "message");
    assert.ok(item.type === "message" && item.role === "user" && item.status === "completed");
    assert.match(item.id, /^msg_/);
    paged.push(text(item));
  }
  assert.deepEqual(paged, ["first", "second"]);

  await client.responses.delete(response.id);
  /** @param {unknown} error */
  const isNotFound = (error) => {
    assert.ok(error instanceof NotFoundError, `${error}`);
    assert.equal(error.status, 404);
    return true;
  };
  await assert.rejects(client.responses.retrieve(response.id), isNotFound);
  await assert.rejects(client.responses.inputItems.list(response.id), isNotFound);
  await assert.rejects(client.responses.delete(response.id), isNotFound);
});

test("a previous_response_id that does not exist is a 404 naming the param", async () => {
  await assert.rejects(respond(client, "Hello", "resp_does_not_exist"), (error) => {
    assert.ok(error instanceof NotFoundError, `${error}`);
    assert.equal(error.status, 404);
    assert.equal(error.code, "previous_response_not_found");
    assert.equal(error.param, "previous_response_id");
    return true;
  });
});

/**
 * The pid of the gateway worker that served a request, from the server's JSON log
 * (GATEWAY_LOG; the request line is written once the response is sent).
 * @param {string} log
 * @param {string} requestId
 */
async function servedBy(log, requestId) {
  for (let attempt = 0; attempt < 200; attempt += 1) {
    for (const line of (await readFile(log, "utf8")).split("\n")) {
      if (!line.includes(requestId)) continue;
      const record = JSON.parse(line);
      if (record.request_id === requestId && record.event === "request") return Number(record.pid);
    }
    await sleep(50);
  }
  throw new Error(`no log line for request ${requestId} in ${log}`);
}

test("a conversation continues by previous_response_id whichever worker serves each turn", async (t) => {
  // A new connection for every request, so that the server's workers take turns (a
  // kept-alive connection stays with one worker).
  const fresh = gatewayClient({ defaultHeaders: { Connection: "close" } });
  const log = process.env.GATEWAY_LOG;
  /**
   * The next turn of a conversation; the model must be given the history (every earlier
   * turn's input and output).
   * @param {string} input
   * @param {CreatedResponse} [previous]
   */
  const turn = async (input, previous) => {
    const response = await respond(fresh, input, previous?.id);
    assert.equal(response.status, "completed");
    assert.equal(response.previous_response_id, previous?.id ?? null);
    const history = (previous?.usage?.input_tokens ?? 0) + (previous?.usage?.output_tokens ?? 0);
    assert.ok((response.usage?.input_tokens ?? 0) > history, `"${input}" was given the history`);
    return response;
  };
  if (!log) {
    t.diagnostic("GATEWAY_LOG is not set: which worker served each turn is not checked");
    await turn("Third", await turn("Second", await turn("First")));
    return;
  }
  /** @param {CreatedResponse} response */
  const workerOf = (response) => {
    assert.ok(response._request_id, "the response has its x-request-id");
    return servedBy(log, response._request_id);
  };
  /**
   * A next turn served by another worker than `previous` was: two at a time on new
   * connections (each a valid continuation) until one lands there.
   * @param {string} input
   * @param {CreatedResponse} previous
   */
  const onTheOtherWorker = async (input, previous) => {
    const storedBy = await workerOf(previous);
    for (let attempt = 0; attempt < 50; attempt += 1) {
      for (const response of await Promise.all([turn(input, previous), turn(input, previous)])) {
        const worker = await workerOf(response);
        if (worker !== storedBy) return { response, workers: [storedBy, worker] };
      }
    }
    assert.fail(`every turn was served by worker ${storedBy}: does the server run WORKERS=2?`);
  };
  const first = await turn("First");
  const second = await onTheOtherWorker("Second", first);
  const third = await onTheOtherWorker("Third", second.response);
  t.diagnostic(`workers: ${second.workers.join(" → ")} → ${third.workers[1]}`);
  const stored = await client.responses.retrieve(third.response.id);
  assert.equal(stored.previous_response_id, second.response.id);
});

test("embeddings: the SDK's default base64, decoded to floats, equals encoding_format float", async () => {
  /** @type {unknown[]} */
  const sent = [];
  const recording = gatewayClient({
    fetch: async (url, init) => {
      sent.push(JSON.parse(String(init?.body)));
      return fetch(url, init);
    },
  });
  const input = ["The quick brown fox", "jumps over the lazy dog"];
  const byDefault = await recording.embeddings.create({ model, input });
  const asFloats = await recording.embeddings.create({ model, input, encoding_format: "float" });
  assert.deepEqual(
    sent.map((body) => /** @type {{encoding_format?: string}} */ (body).encoding_format),
    ["base64", "float"],
  );
  for (const result of [byDefault, asFloats]) {
    assert.equal(result.object, "list");
    assert.deepEqual(result.data.map((d) => d.index), [0, 1]);
    assert.ok(result.usage.prompt_tokens > 0);
  }
  const [a, b] = byDefault.data.map((d) => d.embedding);
  assert.ok(Array.isArray(a) && a.length > 0 && a.every((x) => typeof x === "number"));
  assert.notDeepEqual(a, b);
  byDefault.data.forEach(({ embedding }, i) => {
    const floats = asFloats.data[i].embedding;
    assert.equal(embedding.length, floats.length);
    // base64 carries float32; `float` the same numbers printed in JSON.
    embedding.forEach((x, j) => assert.ok(Math.abs(x - floats[j]) < 1e-6, `[${i}][${j}] ${x} != ${floats[j]}`));
  });
});
