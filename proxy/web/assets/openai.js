// The parts of the OpenAI API this page uses: the model list and a streamed chat
// completion, with errors read from the OpenAI error body.
import { sseData } from "./sse.js";

/** An OpenAI error object (`{"error": {message, type, param, code}}`) and its HTTP status. */
export class ApiError extends Error {
  /**
   * @param {number | null} status HTTP status, or null for an error event inside a stream
   * @param {{message?: string, type?: string | null, param?: string | null, code?: string | null}} error
   * @param {number | null} retryAfter seconds from the Retry-After header, if any
   */
  constructor(status, error, retryAfter = null) {
    super(error.message || `HTTP ${status}`);
    this.name = "ApiError";
    this.status = status;
    this.type = error.type ?? null;
    this.param = error.param ?? null;
    this.code = error.code ?? null;
    this.retryAfter = retryAfter;
  }
}

/**
 * Seconds to wait, from a Retry-After header (delay-seconds or an HTTP date).
 * @param {string | null} value
 * @returns {number | null}
 */
export function parseRetryAfter(value) {
  if (!value) return null;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.ceil(seconds);
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, Math.ceil((date - Date.now()) / 1000));
}

/**
 * The ApiError a non-2xx response stands for. Bodies that are not an OpenAI error (an HTML
 * page from something in between, say) still give a message naming the status.
 * @param {Response} response
 * @returns {Promise<ApiError>}
 */
export async function errorFrom(response) {
  /** @type {{message?: string, type?: string | null, param?: string | null, code?: string | null}} */
  let error = {};
  try {
    const body = await response.json();
    if (body && typeof body.error === "object" && body.error !== null) error = body.error;
  } catch {
    // Not JSON: keep the status line.
  }
  if (!error.message) error = { ...error, message: `${response.status} ${response.statusText}`.trim() };
  return new ApiError(response.status, error, parseRetryAfter(response.headers.get("Retry-After")));
}

/** @param {string | undefined} apiKey */
function headers(apiKey, json = false) {
  /** @type {Record<string, string>} */
  const out = {};
  if (json) out["Content-Type"] = "application/json";
  if (apiKey) out.Authorization = `Bearer ${apiKey}`;
  return out;
}

/**
 * The ids of the served models.
 * @param {{baseUrl?: string, apiKey?: string, signal?: AbortSignal}} options
 * @returns {Promise<string[]>}
 */
export async function listModels({ baseUrl = "/v1", apiKey, signal } = {}) {
  const response = await fetch(`${baseUrl}/models`, { headers: headers(apiKey), signal });
  if (!response.ok) throw await errorFrom(response);
  const body = await response.json();
  return body.data.map((/** @type {{id: string}} */ model) => model.id);
}

/**
 * Streams one chat completion, calling `onText` with each piece of the answer as it
 * arrives. Aborting `signal` closes the connection, which stops the generation on the
 * server. Resolves with the finish reason and the token usage.
 *
 * @param {{baseUrl?: string, apiKey?: string, model: string,
 *          messages: {role: string, content: string}[], signal?: AbortSignal,
 *          onText: (text: string) => void}} options
 * @returns {Promise<{finishReason: string | null, usage: {prompt_tokens: number, completion_tokens: number} | null}>}
 */
export async function streamChat({ baseUrl = "/v1", apiKey, model, messages, signal, onText }) {
  const response = await fetch(`${baseUrl}/chat/completions`, {
    method: "POST",
    headers: headers(apiKey, true),
    body: JSON.stringify({ model, messages, stream: true, stream_options: { include_usage: true } }),
    signal,
  });
  if (!response.ok || !response.body) throw await errorFrom(response);
  let finishReason = null;
  let usage = null;
  for await (const data of sseData(response.body)) {
    if (data === "[DONE]") return { finishReason, usage };
    const chunk = JSON.parse(data);
    if (chunk.error) throw new ApiError(null, chunk.error);
    for (const choice of chunk.choices ?? []) {
      if (choice.index !== 0) continue;
      if (choice.delta?.content) onText(choice.delta.content);
      if (choice.finish_reason) finishReason = choice.finish_reason;
    }
    if (chunk.usage) usage = chunk.usage;
  }
  throw new ApiError(null, {
    message: "The connection closed before the answer was complete.",
    type: "server_error",
    code: "stream_incomplete",
  });
}
