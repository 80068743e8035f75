// The Next.js route handlers in app/api/, called as plain functions with a Request, the
// way Next.js calls them (no Next.js server needed).
import assert from "node:assert/strict";
import { test } from "node:test";
import { readUIMessageStream } from "ai";
import { generate } from "../ai-sdk.mjs";
import { POST } from "../app/api/chat/route.ts";
import { POST as POST_RESPONSES } from "../app/api/chat-responses/route.ts";
import { POST as POST_UI } from "../app/api/chat-ui/route.ts";

/** @param {string} path @param {unknown} body */
function request(path, body) {
  return new Request(`http://localhost:3000${path}`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
}

/** Every chunk of a response body, decoded, in the order the reader got them. @param {Response} response */
async function readPieces(response) {
  assert.ok(response.body);
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  /** @type {string[]} */
  const pieces = [];
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return pieces;
    pieces.push(decoder.decode(value, { stream: true }));
  }
}

test("/api/chat streams the answer as text", async () => {
  const response = await POST(request("/api/chat", { prompt: "Hello from Next.js" }));
  assert.equal(response.status, 200);
  assert.match(response.headers.get("content-type") ?? "", /^text\/plain/);
  const pieces = await readPieces(response);
  assert.ok(pieces.length > 1, "the answer came in pieces");
  assert.equal(pieces.join(""), (await generate("Hello from Next.js")).text);
});

test("/api/chat refuses a body without a prompt", async () => {
  const response = await POST(request("/api/chat", { text: "no prompt" }));
  assert.equal(response.status, 400);
});

/**
 * The chunks of a UI message stream (the protocol useChat() reads), checked to end with
 * [DONE] and to carry no error.
 * @param {Response} response
 * @returns {Promise<import("ai").UIMessageChunk[]>}
 */
async function uiChunks(response) {
  assert.equal(response.status, 200);
  assert.equal(response.headers.get("x-vercel-ai-ui-message-stream"), "v1");
  const events = (await readPieces(response))
    .join("")
    .split("\n\n")
    .filter((event) => event.trim() !== "")
    .map((event) => event.replace(/^data: /, ""));
  assert.equal(events.at(-1), "[DONE]");
  const chunks = events.slice(0, -1).map((event) => JSON.parse(event));
  assert.deepEqual(chunks.filter((chunk) => chunk.type === "error"), []);
  return chunks;
}

test("/api/chat-ui streams UI message chunks for useChat()", async () => {
  const response = await POST_UI(
    request("/api/chat-ui", {
      messages: [{ id: "m1", role: "user", parts: [{ type: "text", text: "Hello from useChat" }] }],
    }),
  );
  const chunks = await uiChunks(response);
  const types = chunks.map((chunk) => chunk.type);
  assert.equal(types[0], "start");
  assert.equal(types.at(-1), "finish");
  const deltas = chunks.filter((chunk) => chunk.type === "text-delta").map((chunk) => chunk.delta);
  assert.ok(deltas.length > 1, "the answer came in pieces");
  assert.ok(deltas.join("").length > 0);
});

test("/api/chat-responses: useChat() through openai(); the next turn refers to the stored answer", async () => {
  const user = (/** @type {string} */ id, /** @type {string} */ text) =>
    /** @type {import("ai").UIMessage} */ ({ id, role: "user", parts: [{ type: "text", text }] });
  const first = [user("u1", "Remember the word blue.")];
  // The assistant message as useChat() builds it from the stream.
  /** @type {import("ai").UIMessage | undefined} */
  let answer;
  const chunks = await uiChunks(await POST_RESPONSES(request("/api/chat-responses", { messages: first })));
  const stream = new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(chunk);
      controller.close();
    },
  });
  for await (const message of readUIMessageStream({ stream })) answer = message;
  assert.ok(answer && answer.role === "assistant");
  const text = answer.parts.find((part) => part.type === "text");
  assert.ok(text && text.type === "text" && text.text.length > 0);
  const itemId = text.providerMetadata?.openai?.itemId;
  assert.match(String(itemId), /^msg_/, "the text part carries the stored item's id");

  // The second turn, recording what the provider sends to the gateway.
  /** @type {any[]} */
  const sent = [];
  const realFetch = globalThis.fetch;
  globalThis.fetch = async (input, init) => {
    sent.push(JSON.parse(String(init?.body)));
    return realFetch(input, init);
  };
  /** @type {import("ai").UIMessageChunk[]} */
  let second;
  try {
    const messages = [...first, answer, user("u2", "Which word was it?")];
    second = await uiChunks(await POST_RESPONSES(request("/api/chat-responses", { messages })));
  } finally {
    globalThis.fetch = realFetch;
  }
  assert.equal(sent.length, 1);
  assert.deepEqual(sent[0].input[1], { type: "item_reference", id: itemId });
  assert.deepEqual(
    sent[0].input.map((/** @type {any} */ item) => item.role ?? item.type),
    ["user", "item_reference", "user"],
  );
  const deltas = second.filter((chunk) => chunk.type === "text-delta");
  assert.ok(deltas.length > 1, "the second answer streamed");
  assert.equal(second.at(-1)?.type, "finish");
});
