// The Next.js route handlers in app/api/, called as plain functions with a Request, the
// way Next.js calls them (no Next.js server needed).
import assert from "node:assert/strict";
import { test } from "node:test";
import { generate } from "../ai-sdk.mjs";
import { POST } from "../app/api/chat/route.ts";
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

test("/api/chat-ui streams UI message chunks for useChat()", async () => {
  const response = await POST_UI(
    request("/api/chat-ui", {
      messages: [{ id: "m1", role: "user", parts: [{ type: "text", text: "Hello from useChat" }] }],
    }),
  );
  assert.equal(response.status, 200);
  assert.equal(response.headers.get("x-vercel-ai-ui-message-stream"), "v1");
  const events = (await readPieces(response))
    .join("")
    .split("\n\n")
    .filter((event) => event.trim() !== "")
    .map((event) => event.replace(/^data: /, ""));
  assert.equal(events.at(-1), "[DONE]");
  const chunks = events.slice(0, -1).map((event) => JSON.parse(event));
  const types = chunks.map((chunk) => chunk.type);
  assert.equal(types[0], "start");
  assert.equal(types.at(-1), "finish");
  const deltas = chunks.filter((chunk) => chunk.type === "text-delta").map((chunk) => chunk.delta);
  assert.ok(deltas.length > 1, "the answer came in pieces");
  assert.ok(deltas.join("").length > 0);
});
