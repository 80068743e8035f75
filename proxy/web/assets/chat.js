// The chat page: pick a model, send a message, watch the answer stream in, stop it. Each
// chat is kept on the server as a conversation (the Conversations API), listed at the side
// to continue or delete, across reloads.
// No framework and no build step; served by Caddy with a strict Content-Security-Policy
// (scripts, styles and connections from this origin only), so nothing here is inline.
import {
  addMessages,
  createConversation,
  deleteConversation,
  getConversation,
  listMessages,
} from "./conversations.js";
import { listModels, streamChat } from "./openai.js";

const STORAGE = {
  apiKey: "llm-gateway.apiKey",
  model: "llm-gateway.model",
  conversations: "llm-gateway.conversations",
  current: "llm-gateway.conversation",
};
/** Items the Conversations API takes in one request. */
const MAX_ITEMS = 20;

/** @param {string} id */
const byId = (id) => /** @type {HTMLElement} */ (document.getElementById(id));
const ui = {
  model: /** @type {HTMLSelectElement} */ (byId("model")),
  apiKey: /** @type {HTMLInputElement} */ (byId("api-key")),
  newChat: /** @type {HTMLButtonElement} */ (byId("new-chat")),
  messages: byId("messages"),
  error: byId("error"),
  form: /** @type {HTMLFormElement} */ (byId("composer")),
  prompt: /** @type {HTMLTextAreaElement} */ (byId("prompt")),
  send: /** @type {HTMLButtonElement} */ (byId("send")),
  stop: /** @type {HTMLButtonElement} */ (byId("stop")),
  past: byId("conversation-list"),
};

/** @type {{role: string, content: string}[]} */
let history = [];
/** The conversation on the server that `history` is kept in (null: not yet kept). */
/** @type {string | null} */
let current = null;
/** Every kept conversation, newest first. */
/** @type {{id: string, title: string}[]} */
let past = [];
/** @type {AbortController | null} */
let running = null;

/** localStorage may be unavailable (privacy settings): the page works without it. */
const store = {
  /** @param {string} key */
  get: (key) => {
    try {
      return localStorage.getItem(key) ?? "";
    } catch {
      return "";
    }
  },
  /** @param {string} key @param {string} value */
  set: (key, value) => {
    try {
      if (value) localStorage.setItem(key, value);
      else localStorage.removeItem(key);
    } catch {
      // Not kept: fine.
    }
  },
};

const apiKey = () => ui.apiKey.value.trim();

/** Shows an error the way the API described it: status, code, message, param, retry time. */
function showError(/** @type {any} */ error) {
  ui.error.replaceChildren();
  const title = document.createElement("strong");
  const status = error.status ? String(error.status) : "";
  title.textContent = [status, error.code || error.type || (status ? "" : "error")]
    .filter(Boolean)
    .join(" ");
  const message = document.createElement("span");
  message.className = "error-message";
  message.textContent = error.message || String(error);
  ui.error.append(title, " ", message);
  if (error.param) ui.error.append(` (parameter: ${error.param})`);
  if (error.retryAfter != null) {
    const retry = document.createElement("span");
    retry.className = "retry-after";
    retry.textContent = ` Retry in ${error.retryAfter} s.`;
    ui.error.append(retry);
  }
  ui.error.dataset.status = status;
  ui.error.dataset.code = error.code ?? "";
  ui.error.hidden = false;
  if (error.status === 401) ui.apiKey.focus();
}

function clearError() {
  ui.error.hidden = true;
  ui.error.replaceChildren();
}

/** Appends one message to the conversation and returns its parts. */
function addMessage(/** @type {string} */ role, /** @type {string} */ text) {
  const article = document.createElement("article");
  article.className = `message ${role}`;
  const who = document.createElement("h2");
  who.className = "who";
  who.textContent = role === "user" ? "You" : "Assistant";
  const body = document.createElement("div");
  body.className = "content";
  body.textContent = text;
  const meta = document.createElement("p");
  meta.className = "meta";
  article.append(who, body, meta);
  ui.messages.append(article);
  article.scrollIntoView({ block: "end" });
  return { article, body, meta };
}

function setBusy(/** @type {boolean} */ busy) {
  ui.send.disabled = busy;
  ui.stop.disabled = !busy;
  ui.messages.setAttribute("aria-busy", String(busy));
}

async function loadModels() {
  ui.model.disabled = true;
  try {
    const ids = await listModels({ apiKey: apiKey() });
    const saved = store.get(STORAGE.model);
    ui.model.replaceChildren(
      ...ids.map((id) => new Option(id, id, false, id === saved)),
    );
    ui.model.disabled = ids.length === 0;
    clearError();
  } catch (error) {
    ui.model.replaceChildren(new Option("(no models)", ""));
    showError(error);
  }
}

// --- conversations kept on the server -------------------------------------------------

function savePast() {
  store.set(STORAGE.conversations, past.length ? JSON.stringify(past.map((c) => c.id)) : "");
  store.set(STORAGE.current, current ?? "");
}

/** @returns {string[]} */
function savedIds() {
  try {
    const ids = JSON.parse(store.get(STORAGE.conversations) || "[]");
    return Array.isArray(ids) ? ids.filter((id) => typeof id === "string") : [];
  } catch {
    return [];
  }
}

function renderPast() {
  ui.past.replaceChildren(
    ...past.map(({ id, title }) => {
      const item = document.createElement("li");
      item.dataset.id = id;
      const open = document.createElement("button");
      open.type = "button";
      open.className = "open";
      open.textContent = title || "(untitled)";
      if (id === current) open.setAttribute("aria-current", "true");
      open.addEventListener("click", () => void openConversation(id));
      const remove = document.createElement("button");
      remove.type = "button";
      remove.className = "delete";
      remove.textContent = "Delete";
      remove.setAttribute("aria-label", `Delete conversation: ${title || "(untitled)"}`);
      remove.addEventListener("click", () => void removeConversation(id));
      item.append(open, remove);
      return item;
    }),
  );
}

/** The conversations this browser kept, as the server still has them (gone ones are
 * dropped; unreachable ones kept), and the one that was open. */
async function restore() {
  const ids = savedIds();
  /** Unreachable now (or a key is missing): kept, untitled, for a later visit. */
  const unreachable = (/** @type {string} */ id) => ({
    id,
    metadata: /** @type {{title?: string}} */ ({}),
  });
  const found = await Promise.all(
    ids.map((id) => getConversation({ apiKey: apiKey(), id }).catch(() => unreachable(id))),
  );
  past = ids.flatMap((id, i) => {
    const conversation = found[i];
    return conversation ? [{ id, title: conversation.metadata?.title ?? "" }] : [];
  });
  const wanted = store.get(STORAGE.current);
  renderPast();
  if (wanted && past.some((c) => c.id === wanted)) await openConversation(wanted);
  else savePast();
}

function showConversation(/** @type {{role: string, content: string}[]} */ messages) {
  ui.messages.replaceChildren();
  for (const { role, content } of messages) {
    const { article } = addMessage(role === "user" ? "user" : "assistant", content);
    if (role !== "user") article.dataset.state = "done";
  }
}

async function openConversation(/** @type {string} */ id) {
  stop();
  clearError();
  try {
    const messages = await listMessages({ apiKey: apiKey(), id });
    if (messages === null) {
      forget(id);
      return;
    }
    current = id;
    history = messages;
    showConversation(messages);
    savePast();
    renderPast();
  } catch (error) {
    showError(error);
  }
}

async function removeConversation(/** @type {string} */ id) {
  try {
    await deleteConversation({ apiKey: apiKey(), id });
  } catch (error) {
    showError(error);
    return;
  }
  forget(id);
}

function forget(/** @type {string} */ id) {
  past = past.filter((c) => c.id !== id);
  if (current === id) newChat();
  savePast();
  renderPast();
}

/**
 * Keeps a finished turn: appended to its conversation, or a new conversation (titled by
 * its first message) when it has none yet or the server no longer has it.
 * @param {string | null} id the conversation the turn belongs to
 * @param {{role: string, content: string}[]} conversation every message, this turn's last
 * @param {{role: string, content: string}[]} turn
 * @returns {Promise<string>} the conversation's id
 */
async function keepTurn(id, conversation, turn) {
  const key = apiKey();
  if (id !== null && (await addMessages({ apiKey: key, id, messages: turn }))) return id;
  if (id !== null) forget(id);
  const title = conversation.find((m) => m.role === "user")?.content.slice(0, 80) ?? "";
  const made = await createConversation({
    apiKey: key,
    title,
    messages: conversation.slice(0, MAX_ITEMS),
  });
  for (let start = MAX_ITEMS; start < conversation.length; start += MAX_ITEMS) {
    const messages = conversation.slice(start, start + MAX_ITEMS);
    await addMessages({ apiKey: key, id: made.id, messages });
  }
  past = [{ id: made.id, title }, ...past];
  return made.id;
}

async function send() {
  const text = ui.prompt.value.trim();
  if (!text || running) return;
  if (!ui.model.value) {
    showError({ message: "No model to send to: the model list did not load." });
    return;
  }
  clearError();
  // "New chat" during the answer starts a new history: this one must not leak into it.
  const conversation = history;
  const kept = current;
  conversation.push({ role: "user", content: text });
  const question = addMessage("user", text);
  ui.prompt.value = "";
  const answer = addMessage("assistant", "");
  answer.article.dataset.state = "streaming";
  running = new AbortController();
  setBusy(true);
  let content = "";
  try {
    const { finishReason, usage } = await streamChat({
      apiKey: apiKey(),
      model: ui.model.value,
      messages: conversation,
      signal: running.signal,
      onText: (piece) => {
        content += piece;
        answer.body.textContent = content;
        answer.article.scrollIntoView({ block: "end" });
      },
    });
    conversation.push({ role: "assistant", content });
    await keep(kept, conversation);
    answer.article.dataset.state = "done";
    const notes = [];
    if (finishReason && finishReason !== "stop") notes.push(`finish reason: ${finishReason}`);
    if (usage) notes.push(`${usage.prompt_tokens} prompt + ${usage.completion_tokens} completion tokens`);
    answer.meta.textContent = notes.join(" · ");
  } catch (error) {
    const stopped = error instanceof DOMException && error.name === "AbortError";
    answer.article.dataset.state = stopped ? "stopped" : "error";
    if (content) {
      // Keep what arrived, so the conversation can go on from it.
      conversation.push({ role: "assistant", content });
      answer.meta.textContent = stopped ? "stopped" : "interrupted";
      await keep(kept, conversation);
    } else {
      // Nothing came back: take the question back into the box to edit or resend.
      conversation.pop();
      question.article.remove();
      answer.article.remove();
      if (!ui.prompt.value) ui.prompt.value = text;
    }
    if (!stopped) showError(error);
  } finally {
    running = null;
    setBusy(false);
    ui.prompt.focus();
  }
}

/** The last turn of `conversation` kept on the server; a failure to keep it is shown, the
 * chat goes on in this page. */
async function keep(/** @type {string | null} */ id, /** @type {{role: string, content: string}[]} */ conversation) {
  try {
    const kept = await keepTurn(id, conversation, conversation.slice(-2));
    if (history === conversation) current = kept; // still the chat on screen
    savePast();
    renderPast();
  } catch (error) {
    showError(error);
  }
}

function stop() {
  running?.abort();
}

function newChat() {
  stop();
  history = [];
  current = null;
  ui.messages.replaceChildren();
  clearError();
  savePast();
  renderPast();
}

ui.form.addEventListener("submit", (event) => {
  event.preventDefault();
  void send();
});
ui.prompt.addEventListener("keydown", (event) => {
  // Enter sends, Shift+Enter is a new line; never while an input method is composing.
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    ui.form.requestSubmit();
  }
});
document.addEventListener("keydown", (event) => {
  if (event.key === "Escape" && running) stop();
});
ui.stop.addEventListener("click", stop);
ui.newChat.addEventListener("click", () => {
  newChat();
  ui.prompt.focus();
});
byId("settings").addEventListener("submit", (event) => event.preventDefault());
ui.model.addEventListener("change", () => store.set(STORAGE.model, ui.model.value));
ui.apiKey.addEventListener("change", () => {
  store.set(STORAGE.apiKey, apiKey());
  void loadModels().then(restore);
});

ui.apiKey.value = store.get(STORAGE.apiKey);
void loadModels().then(restore);
ui.prompt.focus();
