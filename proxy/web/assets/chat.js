// The chat page: pick a model, send a message, watch the answer stream in, stop it.
// No framework and no build step; served by Caddy with a strict Content-Security-Policy
// (scripts, styles and connections from this origin only), so nothing here is inline.
import { listModels, streamChat } from "./openai.js";

const STORAGE = { apiKey: "llm-gateway.apiKey", model: "llm-gateway.model" };

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
};

/** @type {{role: string, content: string}[]} */
let history = [];
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

function stop() {
  running?.abort();
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
  stop();
  history = [];
  ui.messages.replaceChildren();
  clearError();
  ui.prompt.focus();
});
byId("settings").addEventListener("submit", (event) => event.preventDefault());
ui.model.addEventListener("change", () => store.set(STORAGE.model, ui.model.value));
ui.apiKey.addEventListener("change", () => {
  store.set(STORAGE.apiKey, apiKey());
  void loadModels();
});

ui.apiKey.value = store.get(STORAGE.apiKey);
void loadModels();
ui.prompt.focus();
