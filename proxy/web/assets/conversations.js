// The Conversations API (/v1/conversations) as the chat page uses it: each chat is a
// conversation on the server, so it survives a reload and is there on another visit. The
// API has no "list my conversations" route (as OpenAI's), so the page keeps their ids.
import { errorFrom } from "./openai.js";

/** @param {string | undefined} apiKey */
function headers(apiKey, json = false) {
  /** @type {Record<string, string>} */
  const out = {};
  if (json) out["Content-Type"] = "application/json";
  if (apiKey) out.Authorization = `Bearer ${apiKey}`;
  return out;
}

/**
 * One request; the body as JSON, or null for a 404 (gone, or another key's), else throws
 * the API's error.
 * @param {string} path @param {{apiKey?: string, method?: string, body?: unknown}} options
 */
async function call(path, { apiKey, method = "GET", body } = {}) {
  const response = await fetch(`/v1/conversations${path}`, {
    method,
    headers: headers(apiKey, body !== undefined),
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 404) return null;
  if (!response.ok) throw await errorFrom(response);
  return response.json();
}

/** @param {{role: string, content: string}} message */
const asItem = ({ role, content }) => ({ type: "message", role, content });

/**
 * A new conversation holding these messages, titled by `title`.
 * @param {{apiKey?: string, title: string, messages: {role: string, content: string}[]}} options
 * @returns {Promise<{id: string, metadata: {title?: string}}>}
 */
export async function createConversation({ apiKey, title, messages }) {
  return call("", {
    apiKey,
    method: "POST",
    body: { metadata: { title: title.slice(0, 512) }, items: messages.map(asItem) },
  });
}

/**
 * @param {{apiKey?: string, id: string}} options
 * @returns {Promise<{id: string, metadata: {title?: string}} | null>} null: not there
 */
export function getConversation({ apiKey, id }) {
  return call(`/${encodeURIComponent(id)}`, { apiKey });
}

/**
 * Appends messages (at most 20 a request) to a conversation.
 * @param {{apiKey?: string, id: string, messages: {role: string, content: string}[]}} options
 * @returns {Promise<boolean>} false: the conversation is gone
 */
export async function addMessages({ apiKey, id, messages }) {
  const body = { items: messages.map(asItem) };
  return (await call(`/${encodeURIComponent(id)}/items`, { apiKey, method: "POST", body })) !== null;
}

/**
 * Every message of a conversation, oldest first, as `{role, content}` (text parts joined).
 * @param {{apiKey?: string, id: string}} options
 * @returns {Promise<{role: string, content: string}[] | null>} null: not there
 */
export async function listMessages({ apiKey, id }) {
  /** @type {{role: string, content: string}[]} */
  const messages = [];
  let after = "";
  for (;;) {
    const query = new URLSearchParams({ order: "asc", limit: "100" });
    if (after) query.set("after", after);
    const page = await call(`/${encodeURIComponent(id)}/items?${query}`, { apiKey });
    if (page === null) return null;
    for (const item of page.data) {
      if (item.type !== "message") continue;
      const text = item.content.map((/** @type {{text?: string}} */ p) => p.text ?? "").join("");
      messages.push({ role: item.role, content: text });
    }
    if (!page.has_more) return messages;
    after = page.last_id;
  }
}

/**
 * @param {{apiKey?: string, id: string}} options
 * @returns {Promise<boolean>} false: it was not there
 */
export async function deleteConversation({ apiKey, id }) {
  return (await call(`/${encodeURIComponent(id)}`, { apiKey, method: "DELETE" })) !== null;
}
